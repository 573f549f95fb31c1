"""Pure ledger rules: accounts, journals, schedules, allocation, arrears; no I/O."""
