"""Origination's use cases over its event store: groups, clients, products, loans.

Every change is an event with the acting user on it. Commands on an existing aggregate
reload and retry when a concurrent writer saved first, so two simultaneous requests
(two disburse clicks, a payment result racing an approval) never both win.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from hazina_origination.application.commands import (
    Actor,
    AddGuarantor,
    AssessCredit,
    CreateGroup,
    DisbursementRequest,
    EditClient,
    EditGroup,
    GuarantorNominee,
    InitiateLoan,
    OnboardClient,
)
from hazina_origination.application.ports import Lookups, PhotoStore
from hazina_origination.domain.account_number import new_account_number
from hazina_origination.domain.client import (
    Client,
    Reservation,
    normalise_national_id,
    normalise_residence,
)
from hazina_origination.domain.eligibility import BorrowerFacts, check_eligibility
from hazina_origination.domain.errors import (
    AlreadyExistsError,
    IllegalTransitionError,
    InvalidInputError,
    NotEligibleError,
    NotFoundError,
    NotPermittedError,
    OriginationError,
)
from hazina_origination.domain.group import (
    SIGNATORY_ROLES,
    Group,
    Signatory,
    check_signatory_roles,
    normalise_meeting_day,
    normalise_meeting_time,
    shown_status,
)
from hazina_origination.domain.guarantees import ClientGuarantees
from hazina_origination.domain.loan import LegacyLoan, Loan
from hazina_origination.domain.phone import normalise_phone
from hazina_origination.domain.photo import check_photo_size
from hazina_origination.domain.product import LoanProduct, ProductSpec
from hazina_origination.domain.roles import (
    ACCOUNTANT,
    ADMIN,
    CONTACT_DETAILS,
    LOAN_OFFICER,
    RECORD_APPROVERS,
    SUPER_ADMIN,
)
from hazina_origination.domain.staff import loan_officer_refusal
from hazina_servicekit.eventstore import EventStoreApplication
from hazina_servicekit.retry import retry_on_conflict

log = structlog.get_logger(__name__)
A = TypeVar("A", bound=Aggregate)


# The reservation kind that makes a USSD application one loan, however often it is delivered.
APPLICATION = "ussd_application"


class Origination(EventStoreApplication):
    """The event store of groups, clients, products and loans, and the use cases that change them."""

    name = "origination"

    def __init__(
        self,
        env: dict[str, str],
        *,
        lookups: Lookups,
        photos: PhotoStore,
        max_photo_bytes: int,
        max_guarantees_per_client: int,
    ) -> None:
        super().__init__(env=env)
        self.lookups = lookups
        self.photos = photos
        self.max_photo_bytes = max_photo_bytes
        self.max_guarantees_per_client = max_guarantees_per_client

    # Documents

    def store_document(self, data: bytes, field: str = "file") -> str:
        """Keep an uploaded photo or ID copy (re-encoded, no metadata); returns its file name."""
        check_photo_size(data, max_bytes=self.max_photo_bytes, field=field)
        return self.photos.save(self.photos.clean(data, field=field))

    # Loading

    def _get(self, kind: type[A], aggregate_id: uuid.UUID, label: str) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(f"{label} not found") from None
        if not isinstance(aggregate, kind):
            raise NotFoundError(f"{label} not found")
        return aggregate

    def group(self, group_id: uuid.UUID) -> Group:
        return self._get(Group, group_id, "Group")

    def client(self, client_id: uuid.UUID) -> Client:
        return self._get(Client, client_id, "Client")

    def loan(self, loan_id: uuid.UUID) -> Loan:
        return self._get(Loan, loan_id, "Loan")

    def product(self, product_id: uuid.UUID) -> LoanProduct:
        return self._get(LoanProduct, product_id, "Loan product")

    # Groups

    def create_group(self, cmd: CreateGroup, actor: Actor) -> Group:
        """A new group; signatories named with it join it and are recorded in the same save."""
        name = cmd.name.strip()
        if not name:
            raise InvalidInputError("name is required")
        officer = cmd.loan_officer_id
        if actor.role == LOAN_OFFICER:
            if officer is not None and officer != actor.user_id:
                raise NotPermittedError("A loan officer creates groups for themselves only")
            officer = actor.user_id
        elif officer is not None:
            self._check_loan_officer(officer)
        if cmd.signatories:
            check_signatory_roles([(role, str(cid)) for role, cid in cmd.signatories.items()])

        def attempt() -> Group:
            group = Group(
                name=name,
                status="active" if actor.role == SUPER_ADMIN else "provisional",
                meeting_day=normalise_meeting_day(cmd.meeting_day),
                meeting_time=normalise_meeting_time(cmd.meeting_time),
                loan_officer_id=officer,
                branch_id=cmd.branch_id,
                region=cmd.region,
                created_by=actor.user_id,
                correlation_id=actor.correlation_id,
            )
            joined = self._signatories_join(group, cmd.signatories, actor)
            self.save(group, *joined)
            return group

        return retry_on_conflict(attempt)

    def _signatories_join(
        self, group: Group, chosen: dict[str, uuid.UUID], actor: Actor
    ) -> list[Client]:
        """Name the signatories of ``group`` by client id. A chosen client with no group joins it;
        one in another group is refused (their own group may depend on them). Returns the clients
        that joined, to be saved with the group. Nothing chosen: nothing done."""
        if not chosen:
            return []
        current = {s["role"]: s for s in group.signatories}
        joined: list[Client] = []
        signatories: list[Signatory] = []
        for role in SIGNATORY_ROLES:
            client_id = chosen.get(role)
            if client_id is None:
                if role not in current:
                    raise InvalidInputError(f"{role} is required")
                kept = current[role]
                signatories.append(
                    Signatory(
                        role=role,
                        client_id=uuid.UUID(kept["client_id"]),
                        national_id=kept["national_id"],
                    )
                )
                continue
            try:
                client = self.client(client_id)
            except NotFoundError:
                raise InvalidInputError(f"{role}: no client {client_id}") from None
            if actor.role == LOAN_OFFICER and self._owner_of(client) != actor.user_id:
                raise InvalidInputError(f"{role}: no client {client_id}")  # another's: as missing
            if client.group_id is None:
                client.change_details(
                    {"group_id": group.id, "loan_officer_id": group.loan_officer_id},
                    by=actor.user_id,
                    correlation_id=actor.correlation_id,
                )
                joined.append(client)
            elif client.group_id != group.id:
                raise InvalidInputError(
                    f"{role}: {client.name} is a member of another group; a signatory must be "
                    "a member of this group or of none"
                )
            signatories.append(
                Signatory(role=role, client_id=client.id, national_id=client.national_id)
            )
        group.assign_signatories(signatories, by=actor.user_id, correlation_id=actor.correlation_id)
        return joined

    def _owner_of(self, client: Client) -> uuid.UUID | None:
        """The loan officer a client belongs to: their group's, or (no group) the one who has them."""
        if client.group_id is not None:
            return self.group(client.group_id).loan_officer_id
        return client.loan_officer_id

    def edit_group(self, group_id: uuid.UUID, cmd: EditGroup, actor: Actor) -> Group:
        """Change what was sent and differs; each role may change only its own part (docs/roles.md):
        an unchanged value sent back by an edit dialog is never a refusal."""
        fields = dict(cmd.fields)
        if "name" in fields:
            fields["name"] = _required_text(fields["name"], "name")
        if "meeting_day" in fields:
            fields["meeting_day"] = normalise_meeting_day(fields["meeting_day"])
        if "meeting_time" in fields:
            fields["meeting_time"] = normalise_meeting_time(fields["meeting_time"])
        if "branch_id" in fields:
            fields["branch_id"] = (fields["branch_id"] or "").strip() or None
        status = _group_status(cmd.status)

        def attempt() -> tuple[Group, list[Client]]:
            group = self.group(group_id)
            self._officer_may_act(actor, group.loan_officer_id, "group")
            differing = {k for k, v in fields.items() if getattr(group, k) != v}
            if "loan_officer_id" in differing:
                self._may_change(actor, "loanOfficerId", RECORD_APPROVERS)
                if fields["loan_officer_id"] is not None:
                    self._check_loan_officer(fields["loan_officer_id"])
            if "branch_id" in differing:
                self._may_change(actor, "branchId", RECORD_APPROVERS)
            if actor.role == ACCOUNTANT and differing - set(CONTACT_DETAILS):
                raise NotPermittedError("An accountant may change a group's contact details only")
            group.change_details(fields, by=actor.user_id, correlation_id=actor.correlation_id)
            joined: list[Client] = []
            wanted = {
                role: cid
                for role, cid in cmd.signatories.items()
                if not any(
                    s["role"] == role and s["client_id"] == str(cid) for s in group.signatories
                )
            }
            if wanted:
                self._may_change(actor, "signatories", (SUPER_ADMIN, ADMIN, LOAN_OFFICER))
                joined = self._signatories_join(group, cmd.signatories, actor)
            if status is not None and status != shown_status(group.status):
                self._may_change(actor, "status", RECORD_APPROVERS)
                self._set_group_status(group, status, actor)
            self.save(group, *joined)
            return group, joined

        return retry_on_conflict(attempt)[0]

    def _set_group_status(self, group: Group, status: str, actor: Actor) -> None:
        by, cid = actor.user_id, actor.correlation_id
        if status == "active":
            if group.status == "suspended":
                group.reinstate(by=by, correlation_id=cid)
            else:
                group.approve(by=by, correlation_id=cid)
        elif status == "rejected":
            group.reject(by=by, correlation_id=cid)
        elif status == "suspended":
            group.suspend(by=by, correlation_id=cid)
        else:
            raise IllegalTransitionError(
                f"Group is {shown_status(group.status)}; it cannot go back to {status}"
            )

    @staticmethod
    def _may_change(actor: Actor, field_name: str, roles: tuple[str, ...]) -> None:
        if actor.role not in roles:
            raise NotPermittedError(f"Your role may not change {field_name}")

    def _check_loan_officer(self, officer_id: uuid.UUID) -> None:
        staff_known = self.lookups.knows_staff()
        member = self.lookups.staff_member(officer_id) if staff_known else None
        refusal = loan_officer_refusal(officer_id, member, staff_known=staff_known)
        if refusal:
            raise InvalidInputError(refusal)
        if not staff_known:
            log.warning(
                "loan_officer_unchecked",
                loan_officer_id=str(officer_id),
                reason="no staff heard of from identity yet",
            )

    def approve_group(self, group_id: uuid.UUID, actor: Actor) -> Group:
        def attempt() -> Group:
            group = self.group(group_id)
            group.approve(by=actor.user_id, correlation_id=actor.correlation_id)
            self.save(group)
            return group

        return retry_on_conflict(attempt)

    def assign_signatories(
        self, group_id: uuid.UUID, assignments: list[tuple[str, str]], actor: Actor
    ) -> Group:
        group = self.group(group_id)
        self._officer_may_act(actor, group.loan_officer_id, "group")
        cleaned = [(role.strip().lower(), normalise_national_id(nid)) for role, nid in assignments]
        check_signatory_roles(cleaned)
        signatories = []
        for role, national_id in cleaned:
            client_id = self.lookups.client_in_group(group_id, national_id)
            if client_id is None:
                raise InvalidInputError(
                    f"The {role} (national ID {national_id}) is not a member of this group"
                )
            signatories.append(Signatory(role=role, client_id=client_id, national_id=national_id))

        def attempt() -> Group:
            fresh = self.group(group_id)
            fresh.assign_signatories(
                signatories, by=actor.user_id, correlation_id=actor.correlation_id
            )
            self.save(fresh)
            return fresh

        return retry_on_conflict(attempt)

    def _officer_may_act(self, actor: Actor, officer_id: uuid.UUID | None, what: str) -> None:
        """Another officer's record is, to a loan officer, a record that does not exist: the same
        404 and message as a missing one, so an id never tells whether it exists."""
        if actor.role == LOAN_OFFICER and officer_id != actor.user_id:
            raise NotFoundError(f"{what.capitalize()} not found")

    # Clients

    def onboard_client(self, cmd: OnboardClient, actor: Actor) -> Client:
        required = {
            "name": cmd.name,
            "businessType": cmd.business_type,
            "businessLocation": cmd.business_location,
            "nextOfKinName": cmd.next_of_kin_name,
            "nextOfKinRelationship": cmd.next_of_kin_relationship,
        }
        for field_name, value in required.items():
            if not value or not value.strip():
                raise InvalidInputError(f"{field_name} is required")
        national_id = normalise_national_id(cmd.national_id)
        phone = normalise_phone(cmd.phone)
        kin_phone = normalise_phone(cmd.next_of_kin_phone, field="nextOfKinPhone")
        residence = normalise_residence(cmd.residence)
        check_photo_size(cmd.photo, max_bytes=self.max_photo_bytes)
        clean = self.photos.clean(cmd.photo)
        group = self.group(cmd.group_id) if cmd.group_id is not None else None
        if group is not None:
            self._officer_may_act(actor, group.loan_officer_id, "group")
            officer = group.loan_officer_id
        else:  # no group yet: the officer onboarding them has them until a group takes them
            officer = actor.user_id if actor.role == LOAN_OFFICER else None
        if self.lookups.client_by_national_id(national_id) is not None:
            raise AlreadyExistsError(f"A client with national ID {national_id} already exists")
        photo = self.photos.save(clean)
        client = Client(
            name=cmd.name.strip(),
            national_id=national_id,
            phone=phone,
            residence=residence,
            business_type=cmd.business_type.strip(),
            business_location=cmd.business_location.strip(),
            next_of_kin={
                "name": cmd.next_of_kin_name.strip(),
                "phone": kin_phone,
                "relationship": cmd.next_of_kin_relationship.strip(),
            },
            group_id=group.id if group else None,
            loan_officer_id=officer,
            branch_id=cmd.branch_id or (group.branch_id if group else None),
            photo=photo,
            status="pending",
            created_by=actor.user_id,
            correlation_id=actor.correlation_id,
        )
        reservation = Reservation(kind="national_id", key=national_id, holder_id=client.id)
        try:
            self.save(client, reservation)
        except IntegrityError:
            raise AlreadyExistsError(
                f"A client with national ID {national_id} already exists"
            ) from None
        return client

    def approve_client(self, client_id: uuid.UUID, actor: Actor) -> Client:
        def attempt() -> Client:
            client = self.client(client_id)
            client.approve(by=actor.user_id, correlation_id=actor.correlation_id)
            self.save(client)
            return client

        return retry_on_conflict(attempt)

    def edit_client(self, client_id: uuid.UUID, cmd: EditClient, actor: Actor) -> Client:
        """Change what was sent and differs; each role may change only its own part (docs/roles.md):
        an unchanged value sent back by an edit dialog is never a refusal."""
        fields = dict(cmd.fields)
        for key, label in (
            ("name", "name"),
            ("business_type", "businessType"),
            ("business_location", "businessLocation"),
        ):
            if key in fields:
                fields[key] = _required_text(fields[key], label)
        if "national_id" in fields:
            fields["national_id"] = normalise_national_id(fields["national_id"])
        if "phone" in fields:
            fields["phone"] = normalise_phone(fields["phone"])
        if "residence" in fields:
            fields["residence"] = normalise_residence(fields["residence"])
        if "branch_id" in fields:
            fields["branch_id"] = (fields["branch_id"] or "").strip() or None
        if cmd.status not in (None, "active", "rejected", "pending"):
            raise InvalidInputError("status must be active, rejected or pending")

        def attempt() -> Client:
            client = self.client(client_id)
            self._officer_may_act(actor, self._owner_of(client), "client")
            changes = dict(fields)
            if "next_of_kin" in changes:
                changes["next_of_kin"] = _next_of_kin(client.next_of_kin, changes["next_of_kin"])
            differing = {k for k, v in changes.items() if _differs(getattr(client, k), v)}
            if actor.role == ACCOUNTANT and differing - set(CONTACT_DETAILS):
                raise NotPermittedError("An accountant may change a client's contact details only")
            for key, label in (("branch_id", "branchId"), ("loan_officer_id", "loanOfficer")):
                if key in differing:
                    self._may_change(actor, label, RECORD_APPROVERS)
            if "loan_officer_id" in differing and changes["loan_officer_id"] is not None:
                self._check_loan_officer(changes["loan_officer_id"])
            if "group_id" in differing:
                target = changes["group_id"]
                if target is not None:
                    group = self.group(target)
                    self._officer_may_act(actor, group.loan_officer_id, "group")
                    if "loan_officer_id" not in differing:  # members belong to the group's officer
                        changes["loan_officer_id"] = group.loan_officer_id
            claims = []
            if "national_id" in differing:
                taken = self.lookups.client_by_national_id(changes["national_id"])
                if taken is not None and taken != client.id:
                    raise AlreadyExistsError(
                        f"A client with national ID {changes['national_id']} already exists"
                    )
                claims.append(
                    Reservation(kind="national_id", key=changes["national_id"], holder_id=client.id)
                )
            client.change_details(changes, by=actor.user_id, correlation_id=actor.correlation_id)
            if cmd.status is not None and cmd.status != client.status:
                self._may_change(actor, "status", RECORD_APPROVERS)
                if cmd.status == "active":
                    client.approve(by=actor.user_id, correlation_id=actor.correlation_id)
                elif cmd.status == "rejected":
                    client.reject(by=actor.user_id, correlation_id=actor.correlation_id)
                else:
                    raise IllegalTransitionError(
                        f"Client is {client.status}; it cannot go back to pending"
                    )
            try:
                self.save(client, *claims)
            except IntegrityError:
                if claims and claims[0].id in self.repository:
                    raise AlreadyExistsError(
                        f"A client with national ID {changes['national_id']} already exists"
                    ) from None
                raise
            return client

        return retry_on_conflict(attempt)

    # Loan products

    def define_product(self, fields: dict[str, Any], actor: Actor) -> LoanProduct:
        spec = ProductSpec.from_fields(fields)
        product = LoanProduct(
            spec=spec.as_fields(), created_by=actor.user_id, correlation_id=actor.correlation_id
        )
        self.save(product)
        return product

    def revise_product(
        self, product_id: uuid.UUID, changes: dict[str, Any], actor: Actor
    ) -> LoanProduct:
        def attempt() -> LoanProduct:
            product = self.product(product_id)
            product.revise(changes, by=actor.user_id, correlation_id=actor.correlation_id)
            self.save(product)
            return product

        return retry_on_conflict(attempt)

    def _product_for(self, cmd: InitiateLoan) -> LoanProduct:
        if cmd.product_id is not None:
            product = self.product(cmd.product_id)
            if cmd.product_type and product.spec.type != cmd.product_type.strip().lower():
                raise InvalidInputError(
                    f"Product {product.spec.name} is of type {product.spec.type}, not {cmd.product_type}"
                )
            return product
        if not cmd.product_type:
            raise InvalidInputError("type (or productId) is required")
        kind = cmd.product_type.strip().lower()
        candidates = self.lookups.active_products_of_type(kind)
        if not candidates:
            raise InvalidInputError(f"There is no active loan product of type {kind}")
        if len(candidates) > 1:
            raise InvalidInputError(f"Several products have type {kind}; say which with productId")
        return self.product(candidates[0])

    # Loans

    def _borrower(self, cmd: InitiateLoan, actor: Actor) -> uuid.UUID:
        """The client who signs for the loan: the applicant, or for a group loan the group's
        chairperson (the group's stand-in: a loan names one client who is answerable for it)."""
        if cmd.group_id is not None:
            group = self.group(cmd.group_id)
            self._officer_may_act(actor, group.loan_officer_id, "group")
            if group.status != "active":
                raise InvalidInputError(f"Group {group.name} is not active (status {group.status})")
            chair = next((s for s in group.signatories if s["role"] == "chairperson"), None)
            if chair is None:
                raise InvalidInputError(
                    f"Group {group.name} has no chairperson to sign for a group loan; "
                    "assign its signatories first"
                )
            return uuid.UUID(str(chair["client_id"]))
        if not cmd.client_national_id:
            raise InvalidInputError("clientNationalId (or groupId) is required")
        national_id = normalise_national_id(cmd.client_national_id)
        client_id = self.lookups.client_by_national_id(national_id)
        if client_id is None:
            raise NotFoundError(f"No client has national ID {national_id}")
        probe = self.client(client_id)
        if actor.role == LOAN_OFFICER and probe.loan_officer_id != actor.user_id:
            raise NotFoundError(f"No client has national ID {national_id}")  # another's: as missing
        return client_id

    def initiate_loan(self, cmd: InitiateLoan, actor: Actor) -> Loan:
        if isinstance(cmd.term, bool) or not isinstance(cmd.term, int) or cmd.term < 1:
            raise InvalidInputError("term must be a whole number of repayment periods")
        client_id = self._borrower(cmd, actor)
        product = self._product_for(cmd)
        spec = product.spec
        if cmd.interest_rate_percent is not None and cmd.interest_rate_percent != Decimal(
            spec.interest_rate_percent
        ):
            raise InvalidInputError(
                f"The interest rate is the product's: {spec.name} charges "
                f"{spec.interest_rate_percent}% per {spec.interest_rate_period}"
            )
        loan_type = "group" if cmd.group_id is not None else "individual"
        savings = (
            self.lookups.group_savings_cents(cmd.group_id)
            if cmd.group_id is not None
            else self.lookups.savings_cents(client_id)
        )
        repaid = self.lookups.repaid_loans(client_id)

        def attempt() -> Loan:
            client = self.client(client_id)
            group = self.group(client.group_id) if client.group_id else None
            facts = BorrowerFacts(
                client_status=client.status,
                group_name=group.name if group else None,
                group_status=group.status if group else None,
                group_has_signatories=bool(group and group.has_signatories),
                savings_cents=savings,
                repaid_loans=repaid,
                open_loans=len(client.open_loan_ids),
            )
            failures = check_eligibility(
                spec, facts, principal_cents=cmd.principal_cents, term=cmd.term
            )
            if failures:
                raise NotEligibleError(failures)
            for _ in range(5):
                account_number = new_account_number()
                loan = Loan(
                    account_number=account_number,
                    client_id=client.id,
                    group_id=client.group_id,
                    loan_officer_id=group.loan_officer_id if group else client.loan_officer_id,
                    product_id=product.id,
                    product_type=spec.type,
                    principal_cents=cmd.principal_cents,
                    fees_cents=spec.fees_cents(cmd.principal_cents),
                    terms=spec.terms_for(product.id, cmd.term),
                    purpose=(cmd.purpose or "").strip() or None,
                    initiated_by=actor.user_id,
                    initiator_role=actor.role,
                    correlation_id=actor.correlation_id,
                    loan_type=loan_type,
                )
                client.loan_opened(loan.id)
                claim = Reservation(kind="account_number", key=account_number, holder_id=loan.id)
                if claim.id in self.repository:
                    client = self.client(client_id)
                    continue  # a ten-digit collision: draw another number
                once = (
                    [Reservation(kind=APPLICATION, key=str(cmd.application_id), holder_id=loan.id)]
                    if cmd.application_id
                    else []
                )
                self.save(loan, client, claim, *once)
                return loan
            raise RuntimeError("could not draw a free account number")

        return retry_on_conflict(attempt)

    def add_guarantor(self, cmd: AddGuarantor, actor: Actor) -> tuple[Loan, uuid.UUID]:
        loan = self.loan(cmd.loan_id)
        self._officer_may_act(actor, loan.loan_officer_id, "loan")
        guarantor_client = self.client(cmd.client_id)
        if guarantor_client.status != "active":
            raise InvalidInputError(
                f"A guarantor must be an active client (this one is {guarantor_client.status})"
            )
        guarantor_id = uuid.uuid4()

        def attempt() -> Loan:
            fresh = self.loan(cmd.loan_id)
            fresh.add_guarantor(
                guarantor_id=guarantor_id,
                client_id=cmd.client_id,
                relationship=cmd.relationship,
                id_copy_url=cmd.id_copy_url,
                photo_url=cmd.photo_url,
                by=actor.user_id,
                correlation_id=actor.correlation_id,
            )
            # The client's guarantee record is loaded before the count: every guarantee counted
            # is at or below the version this save expects, and one saved meanwhile by another
            # request makes this save fail, so the retry counts again with it included.
            guarantees = self._guarantees_of(cmd.client_id)
            guarantees.pledge(
                loan_id=fresh.id,
                guarantor_id=guarantor_id,
                open_guarantees=self.lookups.open_guarantees(cmd.client_id),
                most_allowed=self.max_guarantees_per_client,
            )
            self.save(fresh, guarantees)
            return fresh

        return retry_on_conflict(attempt), guarantor_id

    def add_nominated_guarantors(
        self, loan_id: uuid.UUID, nominees: list[GuarantorNominee], actor: Actor
    ) -> list[dict[str, Any]]:
        """The guarantors named on the initiation form, each recorded on its own; what could not be
        recorded comes back as one error per nominee (the loan stands, as the form expects)."""
        errors: list[dict[str, Any]] = []
        for index, nominee in enumerate(nominees):
            label = nominee.name or nominee.national_id or str(nominee.client_id)
            try:
                client_id = nominee.client_id
                if client_id is None and nominee.national_id:
                    national_id = normalise_national_id(nominee.national_id)
                    client_id = self.lookups.client_by_national_id(national_id)
                    if client_id is None:
                        self._add_outside_guarantor(loan_id, nominee, national_id, actor)
                        continue
                if client_id is None:
                    raise InvalidInputError("clientId or clientNationalId is required")
                self.add_guarantor(
                    AddGuarantor(
                        loan_id=loan_id,
                        client_id=client_id,
                        relationship=(nominee.relationship or "").strip() or "Not stated",
                        id_copy_url=None,
                        photo_url=None,
                    ),
                    actor,
                )
            except OriginationError as refused:
                errors.append({"index": index, "guarantor": label, "message": str(refused)})
        return errors

    def _add_outside_guarantor(
        self, loan_id: uuid.UUID, nominee: GuarantorNominee, national_id: str, actor: Actor
    ) -> None:
        """A guarantor the form names who is not a client: kept with name, ID and phone."""
        phone = normalise_phone(nominee.phone, field="phone") if nominee.phone else None

        def attempt() -> Loan:
            loan = self.loan(loan_id)
            self._officer_may_act(actor, loan.loan_officer_id, "loan")
            loan.add_outside_guarantor(
                guarantor_id=uuid.uuid4(),
                name=nominee.name or "",
                national_id=national_id,
                phone=phone,
                relationship=nominee.relationship or "",
                by=actor.user_id,
                correlation_id=actor.correlation_id,
            )
            self.save(loan)
            return loan

        retry_on_conflict(attempt)

    def _guarantees_of(self, client_id: uuid.UUID) -> ClientGuarantees:
        try:
            found: Aggregate = self.repository.get(ClientGuarantees.create_id(client_id))
        except AggregateNotFoundError:
            return ClientGuarantees(client_id=client_id)
        if not isinstance(found, ClientGuarantees):
            raise RuntimeError(f"aggregate {found.id} is not a client's guarantee record")
        return found

    def decide_guarantor(self, guarantor_id: uuid.UUID, *, accept: bool, actor: Actor) -> Loan:
        loan_id = self.lookups.loan_of_guarantor(guarantor_id)
        if loan_id is None:
            raise NotFoundError("Guarantor not found")

        def attempt() -> Loan:
            loan = self.loan(loan_id)
            self._officer_may_act(actor, loan.loan_officer_id, "guarantor")
            loan.decide_guarantor(
                guarantor_id, accept=accept, by=actor.user_id, correlation_id=actor.correlation_id
            )
            self.save(loan)
            return loan

        return retry_on_conflict(attempt)

    def assess_credit(self, cmd: AssessCredit, actor: Actor) -> tuple[Loan, uuid.UUID]:
        scores = cmd.scores
        assessment_id = uuid.uuid4()

        def attempt() -> Loan:
            loan = self.loan(cmd.loan_id)
            self._officer_may_act(actor, loan.loan_officer_id, "loan")
            loan.assess(
                assessment_id=assessment_id,
                scores=scores,
                notes=cmd.officer_notes,
                by=actor.user_id,
                correlation_id=actor.correlation_id,
            )
            self.save(loan)
            return loan

        return retry_on_conflict(attempt), assessment_id

    def approve_loan(self, loan_id: uuid.UUID, actor: Actor) -> Loan:
        def attempt() -> Loan:
            loan = self.loan(loan_id)
            loan.approve(by=actor.user_id, correlation_id=actor.correlation_id)
            self.save(loan)
            return loan

        return retry_on_conflict(attempt)

    def reject_loan(self, loan_id: uuid.UUID, reason: str, actor: Actor) -> Loan:
        def attempt() -> Loan:
            loan = self.loan(loan_id)
            if loan.reject(reason=reason, by=actor.user_id, correlation_id=actor.correlation_id):
                client = self.client(loan.client_id)
                client.loan_closed(loan.id, reason="rejected")
                self.save(loan, client)
            return loan

        return retry_on_conflict(attempt)

    def cancel_loan(self, loan_id: uuid.UUID, reason: str | None, actor: Actor) -> Loan:
        def attempt() -> Loan:
            loan = self.loan(loan_id)
            if loan.cancel(reason=reason, by=actor.user_id, correlation_id=actor.correlation_id):
                client = self.client(loan.client_id)
                client.loan_closed(loan.id, reason="cancelled")
                self.save(loan, client)
            return loan

        return retry_on_conflict(attempt)

    def mark_application_fee_paid(self, loan_id: uuid.UUID, actor: Actor) -> Loan:
        def attempt() -> Loan:
            loan = self.loan(loan_id)
            if loan.mark_application_fee_paid(
                by=actor.user_id, correlation_id=actor.correlation_id
            ):
                self.save(loan)
            return loan

        return retry_on_conflict(attempt)

    def request_disbursement(self, loan_id: uuid.UUID, actor: Actor) -> DisbursementRequest:
        def attempt() -> DisbursementRequest:
            loan = self.loan(loan_id)
            phone = self.client(loan.client_id).phone
            before = loan.pending_disbursement_id
            transaction_id = loan.request_disbursement(
                disbursement_id=uuid.uuid4(),
                phone=phone,
                by=actor.user_id,
                correlation_id=actor.correlation_id,
            )
            repeated = before is not None and before == transaction_id
            if not repeated:
                self.save(loan)
            return DisbursementRequest(
                loan_id=loan.id, transaction_id=transaction_id, repeated=repeated
            )

        return retry_on_conflict(attempt)

    # Facts reported by the payments gateway and the ledger (idempotent: a repeat records nothing)

    def record_disbursement_completed(
        self,
        loan_id: uuid.UUID,
        disbursement_id: uuid.UUID,
        *,
        mpesa_receipt: str,
        completed_at: datetime,
        charge_cents: int,
        correlation_id: str | None,
    ) -> bool:
        def attempt() -> bool:
            loan = self.loan(loan_id)
            changed = loan.record_disbursed(
                disbursement_id=disbursement_id,
                mpesa_receipt=mpesa_receipt,
                completed_at=completed_at,
                charge_cents=charge_cents,
                correlation_id=correlation_id,
            )
            if changed:
                self.save(loan)
            return changed

        return retry_on_conflict(attempt)

    def record_disbursement_failed(
        self,
        loan_id: uuid.UUID,
        disbursement_id: uuid.UUID,
        *,
        reason: str,
        result_code: str,
        correlation_id: str | None,
    ) -> bool:
        def attempt() -> bool:
            loan = self.loan(loan_id)
            changed = loan.record_disbursement_failed(
                disbursement_id=disbursement_id,
                reason=reason,
                result_code=result_code,
                correlation_id=correlation_id,
            )
            if changed:
                self.save(loan)
            return changed

        return retry_on_conflict(attempt)

    def record_ledger_status(
        self,
        loan_id: uuid.UUID,
        *,
        ledger_status: str,
        occurred_at: datetime,
        days_past_due: int,
        outstanding_cents: int,
        correlation_id: str | None,
    ) -> bool:
        def attempt() -> bool:
            loan = self.loan(loan_id)
            changed = loan.record_ledger_status(
                ledger_status=ledger_status,
                occurred_at=occurred_at,
                days_past_due=days_past_due,
                outstanding_cents=outstanding_cents,
                correlation_id=correlation_id,
            )
            if changed:
                self._save_with_client(loan)
            return changed

        return retry_on_conflict(attempt)

    def record_loan_repaid(
        self,
        loan_id: uuid.UUID,
        *,
        occurred_at: datetime,
        total_paid_cents: int,
        correlation_id: str | None,
    ) -> bool:
        def attempt() -> bool:
            loan = self.loan(loan_id)
            changed = loan.record_repaid(
                occurred_at=occurred_at,
                total_paid_cents=total_paid_cents,
                correlation_id=correlation_id,
            )
            if changed:
                self._save_with_client(loan)
            return changed

        return retry_on_conflict(attempt)

    def _save_with_client(self, loan: Loan) -> None:
        """Keep the client's open-loan list in step with the loan in one atomic save."""
        client = self.client(loan.client_id)
        if loan.is_open and str(loan.id) not in client.open_loan_ids:
            client.loan_opened(loan.id)  # repaid earlier (out of order), owing again now
        elif not loan.is_open:
            client.loan_closed(loan.id, reason=loan.status)
        self.save(loan, client)


def legacy_loan(
    *,
    client_id: uuid.UUID,
    group_id: uuid.UUID | None,
    loan_officer_id: uuid.UUID | None,
    product_type: str,
    principal_cents: int,
    outcome: str,
    disbursed_on: str | None,
    closed_on: str | None,
    reference: str | None,
    actor_id: uuid.UUID | None,
    correlation_id: str | None,
) -> LegacyLoan:
    return LegacyLoan(
        client_id=client_id,
        group_id=group_id,
        loan_officer_id=loan_officer_id,
        product_type=product_type,
        principal_cents=principal_cents,
        outcome=outcome,
        disbursed_on=disbursed_on,
        closed_on=closed_on,
        reference=reference,
        imported_by=actor_id,
        correlation_id=correlation_id,
    )


def _required_text(value: Any, label: str) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else ""
    if not text:
        raise InvalidInputError(f"{label} must not be empty")
    return text


def _next_of_kin(current: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """The next of kin after an edit: the parts sent replace the parts kept."""
    merged = dict(current)
    for key in ("name", "phone", "relationship"):
        if key in sent and sent[key] is not None:
            value = sent[key].strip()
            if key == "phone" and value:
                value = normalise_phone(value, field="nextOfKin.phone")
            merged[key] = value
    return merged


def _differs(current: Any, new: Any) -> bool:
    return (str(current) if isinstance(current, uuid.UUID) else current) != (
        str(new) if isinstance(new, uuid.UUID) else new
    )


def _group_status(text: str | None) -> str | None:
    if text is None:
        return None
    value = text.strip().lower()
    if value == "provisional":
        value = "pending"
    if value not in ("pending", "active", "rejected", "suspended"):
        raise InvalidInputError("status must be pending, active, rejected or suspended")
    return value
