"""内乡: "新生儿父或母参加我市基本医保的，新生儿出生不用缴费即可享受当年城乡居民医保待遇";
"2022年底出生的小孩，必须缴费才能享受次年医保待遇". Over GraphQL: declared with the
registration or later, checked or proven, withdrawn, audited, and counted as enrolled."""
from __future__ import annotations

from datetime import date

from sqlalchemy import text

from domain.persons.idnumber import mask
from schema.relay import from_global_id
from tests.conftest import ALL_DEPARTMENTS
from tests.newborn_support import born, declare, enrollment_of, errors, register, withdraw
from tests.payment_support import campaign, pay, shanghai, tally_matches_recount
from tests.quota_support import UNPAID
from tests.subsidy_support import policy_input, set_policy

PROGRESS = """
query($year: Int!) { quotaProgress(year: $year) { unit { code } enrolled persons paid subsidized unpaid exempt } }"""

PROOF = "职工医保参保证明 宛医保〔2023〕0042号"


def enrolled_parent(client, county, paid_on: date = date(2022, 11, 1), year: int = 2023, amount: str = "350.00"):
    parent = born(client, county, date(1995, 3, 3), name="母亲")
    assert pay(client, county.tokens["collector"], parent.id_number, year, amount, paid_on)["userErrors"] == []
    return parent


def test_a_parent_enrolled_here_exempts_the_newborns_birth_year(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2023, 2, 5))
    parent = enrolled_parent(client, county)
    unpaid_parent = born(client, county, date(1994, 4, 4), name="父亲")
    # a parent who has not paid for 2023 does not exempt: nothing is registered
    refused = register(client, county, date(2023, 2, 1), newborn={"basis": "PARENT_ENROLLED", "parentIdNumber": unpaid_parent.id_number})
    assert errors(refused) == [("PARENT_NOT_ENROLLED", ["newborn", "parentIdNumber"])]
    assert refused["person"] is None and mask(unpaid_parent.id_number) in refused["userErrors"][0]["message"]
    assert client.data("query($n: String!) { person(idNumber: $n) { id } }", {"n": refused["number"]},
                       county.tokens["admin"])["person"] is None
    child = born(client, county, date(2023, 2, 1), newborn={"basis": "PARENT_ENROLLED", "parentIdNumber": parent.id_number})
    admin = county.tokens["admin"]
    exempt = enrollment_of(client, admin, child, 2023)
    assert {k: exempt[k] for k in ("status", "amountDue", "paidAmount", "benefitStart")} == {
        "status": "EXEMPT", "amountDue": "350.00", "paidAmount": "0.00", "benefitStart": "2023-02-01",
    }
    assert exempt["exemption"] == {"year": 2023, "basis": "PARENT_ENROLLED", "parentIdNumber": parent.id_number, "proofReference": None}
    # nothing to collect: a payment is refused, the newborn is not chased
    collector = county.tokens["collector"]
    assert [e["code"] for e in pay(client, collector, child.id_number, 2023, "350.00", date(2023, 2, 5), channel="TAX_HALL")["userErrors"]] == [
        "NEWBORN_EXEMPT"
    ]
    unpaid = client.data(UNPAID, {"year": 2023}, collector)["unpaidPersons"]
    assert [e["node"]["idNumber"] for e in unpaid["edges"]] == [unpaid_parent.id_number]
    # enrolled = paid + subsidized + exempt
    [town] = [r for r in client.data(PROGRESS, {"year": 2023}, admin)["quotaProgress"] if r["unit"]["code"] == county.code + "100"]
    assert {k: town[k] for k in ("enrolled", "persons", "paid", "subsidized", "unpaid", "exempt")} == {
        "enrolled": 2, "persons": 3, "paid": 1, "subsidized": 0, "unpaid": 1, "exempt": 1,
    }
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount
    # readers who see numbers masked: the parent's number masked, no day of birth
    finance = enrollment_of(client, county.tokens["finance"], child, 2023)
    assert (finance["status"], finance["benefitStart"]) == ("EXEMPT", None)
    assert finance["exemption"]["parentIdNumber"] == mask(parent.id_number)


def test_cover_elsewhere_in_the_city_is_declared_and_a_wrong_declaration_withdrawn(client, new_county, clock, owner_db):
    county, policy = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2023, 3, 5))
    child = born(client, county, date(2023, 3, 1))
    collector = county.tokens["collector"]
    assert errors(declare(client, collector, child, "PARENT_COVER_DECLARED")) == [("PROOF_REQUIRED", ["proofReference"])]
    assert errors(declare(client, collector, child, "PARENT_ENROLLED")) == [("PARENT_REQUIRED", ["parentIdNumber"])]
    declared = declare(client, collector, child, "PARENT_COVER_DECLARED", proofReference=PROOF)
    assert declared["userErrors"] == []
    assert declared["exemption"]["basis"] == "PARENT_COVER_DECLARED" and declared["exemption"]["proofReference"] == PROOF
    assert (declared["enrollment"]["status"], declared["enrollment"]["benefitStart"]) == ("EXEMPT", "2023-03-01")
    assert errors(declare(client, collector, child, "PARENT_COVER_DECLARED", proofReference=PROOF)) == [("ALREADY_EXEMPT", None)]
    # a policy set again keeps the exempt year, as it keeps a paid one; it cannot stop granting it now
    medical = county.tokens["medical"]
    set_policy(client, medical, policy)
    assert enrollment_of(client, collector, child, 2023)["status"] == "EXEMPT"
    off = client.data(
        "mutation($input: YearPolicyInput!) { setYearPolicy(input: $input) { userErrors { field code } } }",
        {"input": {**policy, "newbornParentExemption": False}}, medical,
    )["setYearPolicy"]
    assert [(e["code"], e["field"]) for e in off["userErrors"]] == [("EXEMPTIONS_IN_FORCE", ["newbornParentExemption"])]
    # withdrawn: the year is due again, the declaration stays on record
    withdrawn = withdraw(client, collector, child, "父亲职工医保已于2022年停保")
    assert withdrawn["userErrors"] == [] and withdrawn["exemption"]["withdrawnAt"]
    assert (withdrawn["enrollment"]["status"], withdrawn["enrollment"]["amountDue"], withdrawn["enrollment"]["benefitStart"]) == (
        "UNPAID", "350.00", None,
    )
    assert enrollment_of(client, collector, child, 2023)["exemption"] is None
    assert errors(withdraw(client, collector, child, "again")) == [("NOT_EXEMPT", ["person"])]
    assert errors(withdraw(client, collector, child, " ")) == [("REASON_REQUIRED", ["reason"])]
    paid = pay(client, collector, child.id_number, 2023, "350.00", date(2023, 3, 5), channel="TAX_HALL")
    assert (paid["payment"]["timing"], paid["payment"]["benefitStart"]) == ("NEWBORN", "2023-03-01")
    assert errors(declare(client, collector, child, "PARENT_COVER_DECLARED", proofReference=PROOF)) == [("PAYMENT_ON_RECORD", None)]
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount
    _audited_without_whole_numbers(owner_db, county, child)


def _audited_without_whole_numbers(owner_db, county, child) -> None:
    tenant_id = from_global_id(county.id)[1]

    async def read(db):
        rows = await db.execute(
            text(
                """SELECT operation, outcome, after::text AS after FROM audit_log
                    WHERE tenant_id = :t AND operation IN ('declareNewbornExemption', 'withdrawNewbornExemption')
                    ORDER BY id"""
            ),
            {"t": tenant_id},
        )
        return [tuple(r) for r in rows]

    audited = owner_db(read, tenant_id)
    assert [(operation, outcome) for operation, outcome, _ in audited] == [
        ("declareNewbornExemption", "rejected"), ("declareNewbornExemption", "rejected"), ("declareNewbornExemption", "ok"),
        ("declareNewbornExemption", "rejected"), ("withdrawNewbornExemption", "ok"), ("withdrawNewbornExemption", "rejected"),
        ("withdrawNewbornExemption", "rejected"), ("declareNewbornExemption", "rejected"),
    ]
    assert all(child.id_number not in after for _, _, after in audited)
    assert mask(child.id_number) in audited[2][2]


def test_the_exemption_is_for_the_year_of_birth_only(client, new_county, clock):
    """Born 2022-12-28 with a parent enrolled for 2022: exempt for 2022, pays for 2023."""
    county = new_county(ALL_DEPARTMENTS)
    clock.travel_to(shanghai(date(2022, 12, 30), 12))
    medical = county.tokens["medical"]
    set_policy(client, medical, policy_input(
        "neixiang-2023.json", year=2022, windowStart="2021-10-15", windowEnd="2021-12-31", listCutoff="2021-12-31",
        refundClaimDeadline="2022-01-31",
    ))
    set_policy(client, medical, policy_input("neixiang-2023.json"))
    parent = enrolled_parent(client, county, paid_on=date(2021, 11, 1), year=2022)
    child = born(client, county, date(2022, 12, 28), newborn={"basis": "PARENT_ENROLLED", "parentIdNumber": parent.id_number})
    collector = county.tokens["collector"]
    assert enrollment_of(client, collector, child, 2022)["status"] == "EXEMPT"
    next_year = enrollment_of(client, collector, child, 2023)
    assert (next_year["status"], next_year["amountDue"], next_year["exemption"]) == ("UNPAID", "350.00", None)
    assert [e["code"] for e in pay(client, collector, child.id_number, 2022, "350.00", date(2022, 12, 30), channel="TAX_HALL")["userErrors"]] == [
        "NEWBORN_EXEMPT"
    ]
    paid = pay(client, collector, child.id_number, 2023, "350.00", date(2022, 12, 30), channel="TAX_HALL")
    assert (paid["payment"]["timing"], paid["payment"]["benefitStart"], paid["enrollment"]["status"]) == ("WINDOW", "2023-01-01", "PAID")


def test_no_exemption_without_the_birth_years_policy_granting_it(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 12, 30))
    parent = enrolled_parent(client, county)
    # born in 2022, a year this county has no policy for: the 2023 policy does not reach back
    late_2022 = register(client, county, date(2022, 12, 28), newborn={"basis": "PARENT_ENROLLED", "parentIdNumber": parent.id_number})
    assert errors(late_2022) == [("NO_POLICY", ["newborn"])] and late_2022["person"] is None
    # a county whose policy does not grant it (八公山)
    other, _ = campaign(client, new_county, clock, "baigongshan-2022.json", today=date(2022, 3, 5))
    child = born(client, other, date(2022, 3, 1))
    declared = declare(client, other.tokens["collector"], child, "PARENT_COVER_DECLARED", proofReference=PROOF)
    assert errors(declared) == [("EXEMPTION_NOT_GRANTED", None)]


def test_declarations_stay_in_scope_and_name_a_real_parent(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2023, 3, 5))
    child = born(client, county, date(2023, 3, 1))
    # another village's collector does not find the child; a department without the right is refused
    assert errors(declare(client, county.tokens["collector2"], child, "PARENT_COVER_DECLARED", proofReference=PROOF)) == [
        ("NOT_FOUND", ["person"])
    ]
    assert errors(declare(client, county.tokens["finance"], child, "PARENT_COVER_DECLARED", proofReference=PROOF)) == [
        ("FORBIDDEN", None)
    ]
    assert errors(declare(client, county.tokens["collector"], child, "PARENT_ENROLLED", parentIdNumber=child.id_number)) == [
        ("INVALID_PARENT", ["parentIdNumber"])
    ]
    assert errors(declare(client, county.tokens["collector"], child, "PARENT_ENROLLED", parentIdNumber="411325199503030000")) == [
        ("INVALID_ID_CHECKSUM", ["parentIdNumber"])
    ]
    # 医保局 may declare county-wide
    declared = declare(client, county.tokens["medical"], child, "PARENT_COVER_DECLARED", proofReference=PROOF)
    assert declared["userErrors"] == [] and declared["enrollment"]["status"] == "EXEMPT"
