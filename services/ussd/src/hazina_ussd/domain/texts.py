"""Every word a borrower sees, in English and Kiswahili.

USSD screens must fit 182 characters (GSM 7-bit, one USSD page) and SMS 160 GSM-7 characters (one
billed part); ``tests/test_texts.py`` renders every screen and message with the longest values
they can carry and checks both limits and the GSM-7 alphabet in both languages.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Literal

from hazina_contracts.money import format_kes

Language = Literal["en", "sw"]
LANGUAGES: tuple[Language, ...] = ("en", "sw")
SCREEN_LIMIT = 182
SMS_LIMIT = 160
NAME_LIMIT = 16  # a first name is shortened to this on screens

# The basic GSM 03.38 alphabet (one septet each) and its extension table (two septets each).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€"


def gsm7_length(text: str) -> int | None:
    """Septets ``text`` takes in GSM-7, or None when it needs UCS-2 (then 70 per part)."""
    length = 0
    for ch in text:
        if ch in GSM7_BASIC:
            length += 1
        elif ch in GSM7_EXTENDED:
            length += 2
        else:
            return None
    return length


def to_gsm7(text: str) -> str:
    """Replace what GSM-7 cannot carry (a name's accents, curly quotes) so a message stays one part."""
    return "".join(ch if ch in GSM7_BASIC or ch in GSM7_EXTENDED else "?" for ch in text)


# ``1,250`` or ``1,250.50``: whole shillings without decimals, as borrowers write them.
kes = partial(format_kes, unit=False, drop_zero_cents=True)


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def short_day(value: date) -> str:
    return value.strftime("%d/%m")


def first_name(name: str) -> str:
    first = to_gsm7(name.strip().split(" ")[0] if name.strip() else "")
    return first[:NAME_LIMIT]


SCREENS: dict[str, dict[Language, str]] = {
    "unknown": {
        "en": "Welcome to Hazina. This number is not registered. Visit your loan officer with your national ID to register.",
        "sw": "Karibu Hazina. Nambari hii haijasajiliwa. Mtembelee afisa wako wa mikopo na kitambulisho chako ili usajiliwe.",
    },
    "pending": {
        "en": "Welcome {name}. Your registration is waiting for approval. You will get an SMS once it is approved.",
        "sw": "Karibu {name}. Usajili wako unasubiri kuidhinishwa. Utapokea SMS ukiidhinishwa.",
    },
    "locked": {
        "en": "Your Hazina USSD is locked after 3 wrong PINs. Visit your loan officer to unlock it.",
        "sw": "Huduma yako ya USSD imefungwa baada ya PIN mbaya mara 3. Mtembelee afisa wako wa mikopo ili aifungue.",
    },
    "setup_id": {
        "en": "Welcome to Hazina, {name}. To set up your PIN, enter your national ID number:",
        "sw": "Karibu Hazina, {name}. Ili kuweka PIN yako, weka nambari ya kitambulisho chako:",
    },
    "setup_pin": {"en": "Choose a 4-digit PIN:", "sw": "Chagua PIN ya tarakimu 4:"},
    "confirm_pin": {
        "en": "Enter the PIN again to confirm:",
        "sw": "Weka PIN tena kuthibitisha:",
    },
    "login": {"en": "Welcome {name}. Enter your PIN:", "sw": "Karibu {name}. Weka PIN yako:"},
    "main": {
        "en": "1. Apply for a loan\n2. Loan status and balance\n3. Repay\n4. Mini statement\n5. Savings balance\n6. Language / PIN",
        "sw": "1. Omba mkopo\n2. Hali na salio la mkopo\n3. Lipa mkopo\n4. Taarifa fupi\n5. Salio la akiba\n6. Lugha / PIN",
    },
    "apply_amount": {
        "en": "Your limit is KES {limit}.\nEnter amount (KES {minimum} - {limit}):",
        "sw": "Kikomo chako ni KES {limit}.\nWeka kiasi (KES {minimum} - {limit}):",
    },
    "apply_purpose": {
        "en": "Purpose of the loan:\n1. Emergency\n2. Business\n3. Education\n4. Other",
        "sw": "Madhumuni ya mkopo:\n1. Dharura\n2. Biashara\n3. Elimu\n4. Mengineyo",
    },
    "apply_term": {
        "en": "Repay over how many {unit} ({minimum}-{maximum})?",
        "sw": "Utalipa kwa {unit} ngapi ({minimum}-{maximum})?",
    },
    "apply_confirm": {
        "en": "Apply for KES {amount} over {term} {unit} for {purpose}?\n1. Confirm\n0. Back",
        "sw": "Omba KES {amount} kwa {term} {unit} kwa {purpose}?\n1. Thibitisha\n0. Rudi",
    },
    "apply_done": {
        "en": "Application received. Ref {reference}. Your loan officer will contact you. You will get an SMS.",
        "sw": "Ombi limepokelewa. Kumb. {reference}. Afisa wako wa mikopo atawasiliana nawe. Utapokea SMS.",
    },
    "choose_loan": {"en": "Choose a loan:\n{lines}", "sw": "Chagua mkopo:\n{lines}"},
    "loan_status": {
        "en": "Loan {account}: {status}\nPrincipal KES {principal}\nInterest KES {interest}\nNext KES {next_amount} on {due}\nDays in arrears: {arrears}{footer}",
        "sw": "Mkopo {account}: {status}\nMsingi KES {principal}\nRiba KES {interest}\nAwamu KES {next_amount} tar. {due}\nSiku za kuchelewa: {arrears}{footer}",
    },
    "loan_applied": {
        "en": "Loan {account}: {status}\nAmount KES {principal}{footer}",
        "sw": "Mkopo {account}: {status}\nKiasi KES {principal}{footer}",
    },
    "repay_amount": {
        "en": "Loan {account} owes KES {owed}.\n1. Pay full balance\nOr enter an amount:",
        "sw": "Mkopo {account} unadaiwa KES {owed}.\n1. Lipa salio lote\nAu weka kiasi:",
    },
    "repay_method": {
        "en": "Pay KES {amount}:\n1. M-Pesa prompt on this phone\n2. Paybill instructions",
        "sw": "Lipa KES {amount}:\n1. Ombi la M-Pesa kwa simu hii\n2. Maelekezo ya Paybill",
    },
    "repay_stk": {
        "en": "You will get an M-Pesa prompt for KES {amount}. Enter your M-Pesa PIN to pay. You will get an SMS receipt.",
        "sw": "Utapokea ombi la M-Pesa la KES {amount}. Weka PIN yako ya M-Pesa kulipa. Utapokea risiti kwa SMS.",
    },
    "repay_paybill": {
        "en": "Pay with M-Pesa: Lipa na M-Pesa > Paybill {paybill}, Account {account}, Amount KES {amount}.",
        "sw": "Lipa kwa M-Pesa: Lipa na M-Pesa > Paybill {paybill}, Akaunti {account}, Kiasi KES {amount}.",
    },
    "statement": {
        "en": "Loan {account} last movements:\n{lines}{footer}",
        "sw": "Mkopo {account} miamala ya mwisho:\n{lines}{footer}",
    },
    "savings": {
        "en": "Savings balance: KES {balance}{footer}",
        "sw": "Salio la akiba: KES {balance}{footer}",
    },
    "settings": {
        "en": "1. Change language\n2. Change PIN",
        "sw": "1. Badilisha lugha\n2. Badilisha PIN",
    },
    "language": {"en": "1. English\n2. Kiswahili", "sw": "1. English\n2. Kiswahili"},
    "pin_current": {"en": "Enter your current PIN:", "sw": "Weka PIN yako ya sasa:"},
    "pin_new": {"en": "Enter a new 4-digit PIN:", "sw": "Weka PIN mpya ya tarakimu 4:"},
    "expired": {
        "en": "Your session has expired. Please dial again.",
        "sw": "Muda wa kikao umeisha. Tafadhali piga tena.",
    },
    "busy": {
        "en": "Too many requests from this phone. Please try again in a few minutes.",
        "sw": "Maombi mengi mno kutoka simu hii. Tafadhali jaribu tena baada ya dakika chache.",
    },
    "unavailable": {
        "en": "Sorry, the service is not available now. Please try again later.",
        "sw": "Samahani, huduma haipatikani sasa. Tafadhali jaribu tena baadaye.",
    },
    "goodbye": {"en": "Thank you for using Hazina.", "sw": "Asante kwa kutumia Hazina."},
}

# A one-line reason shown above the screen that asks again.
REASONS: dict[str, dict[Language, str]] = {
    "invalid_option": {"en": "Invalid choice.", "sw": "Chaguo si sahihi."},
    "digits_only": {"en": "Enter digits only.", "sw": "Weka tarakimu pekee."},
    "wrong_id": {
        "en": "That ID does not match our records.",
        "sw": "Kitambulisho hakilingani na rekodi.",
    },
    "pin_format": {"en": "A PIN is 4 digits.", "sw": "PIN ni tarakimu 4."},
    "pin_weak": {"en": "That PIN is too easy to guess.", "sw": "PIN hiyo ni rahisi kukisia."},
    "pin_mismatch": {"en": "The PINs did not match.", "sw": "PIN hazilingani."},
    "wrong_pin": {
        "en": "Wrong PIN. {left} tries left.",
        "sw": "PIN si sahihi. Majaribio {left} yamebaki.",
    },
    "above_limit": {
        "en": "Above your limit of KES {limit}.",
        "sw": "Zaidi ya kikomo chako cha KES {limit}.",
    },
    "below_minimum": {
        "en": "The minimum is KES {minimum}.",
        "sw": "Kiwango cha chini ni KES {minimum}.",
    },
    "not_multiple": {
        "en": "Enter a multiple of KES {multiple}.",
        "sw": "Weka kigawe cha KES {multiple}.",
    },
    "term_range": {
        "en": "Choose from {minimum} to {maximum}.",
        "sw": "Chagua kati ya {minimum} na {maximum}.",
    },
    "above_balance": {
        "en": "You owe KES {owed} only.",
        "sw": "Unadaiwa KES {owed} pekee.",
    },
    "no_loans": {"en": "You have no open loan.", "sw": "Huna mkopo unaoendelea."},
    "no_balance": {"en": "You have nothing to repay.", "sw": "Huna deni la kulipa."},
    "open_loan": {
        "en": "You already have an open loan.",
        "sw": "Tayari una mkopo unaoendelea.",
    },
    "no_limit": {
        "en": "Your limit is KES 0. Save and repay on time.",
        "sw": "Kikomo chako ni KES 0. Weka akiba na ulipe kwa wakati.",
    },
    "pin_changed": {"en": "Your PIN is changed.", "sw": "PIN yako imebadilishwa."},
    "language_changed": {"en": "Language changed.", "sw": "Lugha imebadilishwa."},
}

FOOTER: dict[Language, str] = {"en": "\n0. Back 00. Menu", "sw": "\n0. Rudi 00. Menyu"}

PURPOSES: tuple[str, ...] = ("emergency", "business", "education", "other")
PURPOSE_WORDS: dict[str, dict[Language, str]] = {
    "emergency": {"en": "an emergency", "sw": "dharura"},
    "business": {"en": "business", "sw": "biashara"},
    "education": {"en": "education", "sw": "elimu"},
    "other": {"en": "other needs", "sw": "mengineyo"},
}
TERM_UNITS: dict[str, dict[Language, str]] = {
    "monthly": {"en": "months", "sw": "miezi"},
    "weekly": {"en": "weeks", "sw": "wiki"},
}
LOAN_STATUS_WORDS: dict[str, dict[Language, str]] = {
    "initiated": {"en": "applied", "sw": "imeombwa"},
    "approved": {"en": "approved", "sw": "imeidhinishwa"},
    "disbursing": {"en": "being paid out", "sw": "inatumwa"},
    "current": {"en": "current", "sw": "inaendelea"},
    "in_arrears": {"en": "in arrears", "sw": "imechelewa"},
    "defaulted": {"en": "defaulted", "sw": "imeshindwa"},
    "written_off": {"en": "written off", "sw": "imefutwa"},
    "repaid": {"en": "repaid", "sw": "imelipwa"},
}
MOVEMENT_WORDS: dict[str, dict[Language, str]] = {
    "disbursement": {"en": "Received", "sw": "Umepokea"},
    "repayment": {"en": "Paid", "sw": "Umelipa"},
    "reversal": {"en": "Reversed", "sw": "Imerudishwa"},
}

SMS: dict[str, dict[Language, str]] = {
    "disbursed": {
        "en": "Hazina: KES {amount} for loan {account} was sent to your M-Pesa, ref {receipt}. Dial {code} to see your balance.",
        "sw": "Hazina: KES {amount} ya mkopo {account} imetumwa kwa M-Pesa yako, kumb. {receipt}. Piga {code} kuona salio.",
    },
    "payment": {
        "en": "Hazina: received KES {amount} for loan {account}, ref {receipt}. Interest {interest}, principal {principal}{extra}. Balance KES {balance}.",
        "sw": "Hazina: tumepokea KES {amount} kwa mkopo {account}, kumb. {receipt}. Riba {interest}, msingi {principal}{extra}. Salio KES {balance}.",
    },
    "due_soon": {
        "en": "Hazina: KES {amount} for loan {account} is due on {due}. Pay via Paybill {paybill}, account {account}.",
        "sw": "Hazina: KES {amount} ya mkopo {account} inatakiwa tar. {due}. Lipa kupitia Paybill {paybill}, akaunti {account}.",
    },
    "overdue": {
        "en": "Hazina: KES {amount} for loan {account} was due on {due} and is overdue. Please pay via Paybill {paybill}, account {account}.",
        "sw": "Hazina: KES {amount} ya mkopo {account} ilitakiwa tar. {due} na imechelewa. Tafadhali lipa kupitia Paybill {paybill}, akaunti {account}.",
    },
    "application": {
        "en": "Hazina: we received your loan application for KES {amount}, ref {reference}. Your loan officer will contact you.",
        "sw": "Hazina: tumepokea ombi lako la mkopo wa KES {amount}, kumb. {reference}. Afisa wako wa mikopo atawasiliana nawe.",
    },
    "application_refused": {
        "en": "Hazina: your loan application ref {reference} was not accepted: you do not meet the loan rules yet. Please talk to your loan officer.",
        "sw": "Hazina: ombi lako la mkopo kumb. {reference} halikukubaliwa: bado hujatimiza masharti ya mkopo. Tafadhali ongea na afisa wako wa mikopo.",
    },
    "application_failed": {
        "en": "Hazina: we could not record your loan application ref {reference}. Please talk to your loan officer.",
        "sw": "Hazina: hatukuweza kurekodi ombi lako la mkopo kumb. {reference}. Tafadhali ongea na afisa wako wa mikopo.",
    },
    "pin_locked": {
        "en": "Hazina: your USSD PIN was locked after 3 wrong tries. Visit your loan officer to unlock it. Not you? Tell them.",
        "sw": "Hazina: PIN yako ya USSD imefungwa baada ya majaribio 3 mabaya. Mtembelee afisa wako wa mikopo aifungue.",
    },
}
SMS_EXTRA: dict[str, dict[Language, str]] = {
    "fees": {"en": ", fees {fees}", "sw": ", ada {fees}"},
    "excess": {"en": ", excess {excess}", "sw": ", ziada {excess}"},
}


def screen(key: str, language: Language, **values: object) -> str:
    return SCREENS[key][language].format(**values)


def reason(key: str, language: Language, **values: object) -> str:
    return REASONS[key][language].format(**values)


def sms(key: str, language: Language, **values: object) -> str:
    return SMS[key][language].format(**values)
