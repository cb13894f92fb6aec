"""The root types: every noun's queries and mutations, plus `node`."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.accounts import AccountMutations, AccountQueries
from schema.cash.reconciliation import ReconciliationQueries
from schema.cash.reimbursements import ReimbursementMutations, ReimbursementQueries
from schema.cash.remittances import RemittanceMutations, RemittanceQueries
from schema.coverage import CoverageQueries
from schema.enrollment import (
    EnrollmentHistoryMutations,
    EnrollmentHistoryQueries,
    NewbornExemptionMutations,
)
from schema.matching import MatchingMutations, MatchingQueries, resolve_duplicate_case_node
from schema.payment_imports import (
    PaymentImportMutations,
    PaymentImportQueries,
    resolve_payment_import_node,
)
from schema.payments import PaymentMutations, PaymentQueries, resolve_payment_node
from schema.person_edits import PersonEditMutations, resolve_person_event_node
from schema.persons import PersonMutations, PersonQueries, resolve_person_node
from schema.policy import PolicyMutations, PolicyQueries
from schema.progress.assessment import AssessmentQueries
from schema.progress.lists import FieldListQueries
from schema.progress.progress import ProgressMutations, ProgressQueries
from schema.progress.quotas import QuotaMutations, QuotaQueries
from schema.refunds import RefundMutations, RefundQueries, resolve_refund_node
from schema.relay import Node, from_global_id
from schema.rosters import RosterMutations, RosterQueries, resolve_roster_batch_node, resolve_roster_finding_node
from schema.subsidy_lists import SubsidyMutations, SubsidyQueries
from schema.tenants import TenantMutations, TenantQueries, TenantType, resolve_unit_node
from schema.unit_changes import UnitChangeMutations
from schema.users import UserMutations, UserQueries, resolve_user_node

_NODE_RESOLVERS = {
    "Unit": resolve_unit_node,
    "Person": resolve_person_node,
    "Payment": resolve_payment_node,
    "Refund": resolve_refund_node,
    "PaymentImport": resolve_payment_import_node,
    "User": resolve_user_node,
    "PersonEvent": resolve_person_event_node,
    "RosterBatch": resolve_roster_batch_node,
    "RosterFinding": resolve_roster_finding_node,
    "DuplicateCase": resolve_duplicate_case_node,
}


@strawberry.type
class Query(
    AccountQueries, TenantQueries, PersonQueries, PolicyQueries, SubsidyQueries, PaymentQueries, RefundQueries,
    RemittanceQueries, ReimbursementQueries, ReconciliationQueries,
    QuotaQueries, ProgressQueries, FieldListQueries, AssessmentQueries,
    PaymentImportQueries, EnrollmentHistoryQueries, CoverageQueries, MatchingQueries,
    UserQueries, RosterQueries,
):
    @strawberry.field(description="Any object by its global ID, if the caller may see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, pk = from_global_id(id)
        if type_name == "Tenant":
            principal = info.context.county_caller()
            if principal.tenant_id != pk:
                return None
            return await TenantQueries.tenant(self, info)  # type: ignore[misc]
        resolver = _NODE_RESOLVERS.get(type_name)
        return await resolver(info, pk) if resolver else None


@strawberry.type
class Mutation(
    AccountMutations, TenantMutations, PersonMutations, PolicyMutations, SubsidyMutations, PaymentMutations, RefundMutations,
    RemittanceMutations, ReimbursementMutations,
    QuotaMutations, ProgressMutations,
    PaymentImportMutations, EnrollmentHistoryMutations, NewbornExemptionMutations, PersonEditMutations,
    UserMutations, RosterMutations, UnitChangeMutations, MatchingMutations,
):
    pass


TYPES = [TenantType]
