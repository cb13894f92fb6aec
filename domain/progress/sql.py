"""Enrolled as of a day in SQL: `enrolled_at` (domain/progress/rules.py) set-wise, for
every person of a county at once, counted per unit subtree.

The rules are those of rules.py and nothing else: tests/test_enrolled_at_sql.py runs
generated records (payments, whole refunds, list versions, registrations, ages) through
both and compares them person by person. Change one, change the other.

One shortcut, proven by that test: a person is SUBSIDIZED when some category they
qualify for leaves nothing to collect (its amount is the standard and its mode is not
REIMBURSE). Such a category has the highest amount there is, and on a tie AUTO_ENROLL
and DEDUCT win over REIMBURSE, so it is the one `choose_subsidy` picks; and a winner
that leaves nothing to collect is such a category. No ranking of candidates needed.

Bind parameters: `:tenant`, `:year`, `:until` (timestamptz: `day_end(D)`), `:scope` (a
unit path: persons below it).
"""
from __future__ import annotations

from domain.matching.sql import released
from domain.payments.rules import PaymentStatus
from domain.policy.rules import SubsidyMode
from domain.refunds.rules import WHOLE_PAYMENT, RefundStatus
from domain.subsidy_lists.rules import ListChange

_WHOLE = ", ".join(f"'{reason}'" for reason in sorted(WHOLE_PAYMENT))
_DECIDED = f"'{RefundStatus.APPROVED}', '{RefundStatus.COMPLETED}'"

# `enrolled`: the persons (person_id) enrolled before :until. The CTEs:
# - whole_refunds: approved whole refunds of the year's payments, with their moment (an
#   approved whole refund makes its payment REFUNDED; a DUPLICATE payment is refunded as
#   DUPLICATE_PAYMENT, never with one of these reasons);
# - paid: ACCEPTED payments (status ACCEPTED now, or REFUNDED by a whole refund, which
#   only an accepted payment gets) paid before :until and not refunded whole by then;
# - listed: each ID number's state on each category's list as its last version uploaded
#   before :until left it (a version writes entries only for what it changed);
# - subsidised: registered before :until, qualifying for a category that leaves nothing
#   to collect, no whole refund approved and no release to another county decided
#   before :until (domain/matching/sql.py).
ENROLLED_AT = f"""
WITH whole_refunds AS (
    SELECT pay.id AS payment_id, pay.person_id, r.decided_at
      FROM payment pay
      JOIN refund r ON r.tenant_id = pay.tenant_id AND r.payment_id = pay.id
     WHERE pay.tenant_id = :tenant AND pay.year = :year AND pay.status = '{PaymentStatus.REFUNDED}'
       AND pay.unit_path ^@ :scope AND r.reason IN ({_WHOLE}) AND r.status IN ({_DECIDED})
),
paid AS (
    SELECT pay.person_id
      FROM payment pay
     WHERE pay.tenant_id = :tenant AND pay.year = :year AND pay.unit_path ^@ :scope
       AND pay.paid_at < CAST(:until AS timestamptz)
       AND (pay.status = '{PaymentStatus.ACCEPTED}'
            OR (pay.status = '{PaymentStatus.REFUNDED}' AND EXISTS (
                    SELECT 1 FROM whole_refunds w WHERE w.payment_id = pay.id)))
       AND NOT EXISTS (
            SELECT 1 FROM whole_refunds w
             WHERE w.payment_id = pay.id AND w.decided_at < CAST(:until AS timestamptz))
),
full_categories AS (
    SELECT c.code, c.min_age, c.max_age, (c.min_age IS NOT NULL OR c.max_age IS NOT NULL) AS age_based
      FROM subsidy_category c
      JOIN year_policy y ON y.tenant_id = c.tenant_id AND y.year = c.year
     WHERE c.tenant_id = :tenant AND c.year = :year
       AND c.mode <> '{SubsidyMode.REIMBURSE}' AND c.amount = y.standard
),
listed AS (
    SELECT DISTINCT ON (b.category_code, e.id_number) e.id_number, e.change
      FROM subsidy_batch b
      JOIN subsidy_list_entry e ON e.tenant_id = b.tenant_id AND e.batch_id = b.id
     WHERE b.tenant_id = :tenant AND b.year = :year AND b.uploaded_at < CAST(:until AS timestamptz)
       AND b.category_code IN (SELECT code FROM full_categories WHERE NOT age_based)
     ORDER BY b.category_code, e.id_number, b.version DESC
),
subsidised AS (
    SELECT p.id AS person_id
      FROM person p
      JOIN year_policy y ON y.tenant_id = p.tenant_id AND y.year = :year
     WHERE p.tenant_id = :tenant AND p.unit_path ^@ :scope AND p.created_at < CAST(:until AS timestamptz)
       AND (EXISTS (SELECT 1 FROM listed l WHERE l.id_number = p.id_number AND l.change <> '{ListChange.REMOVED}')
            OR EXISTS (
                SELECT 1 FROM full_categories c
                 WHERE c.age_based AND p.birth_date <= y.age_reference_date
                   AND date_part('year', age(y.age_reference_date, p.birth_date))
                       BETWEEN coalesce(c.min_age, 0) AND coalesce(c.max_age, 1000)))
       AND NOT EXISTS (
            SELECT 1 FROM whole_refunds w
             WHERE w.person_id = p.id AND w.decided_at < CAST(:until AS timestamptz))
       AND NOT {released("p.id", before="CAST(:until AS timestamptz)")}
),
enrolled AS (
    SELECT person_id FROM paid
     UNION
    SELECT person_id FROM subsidised
)
"""

# Per unit: the enrolled persons of its subtree (each person counts for every unit on
# its path), for the units in :units.
ENROLLED_AT_BY_UNIT = f"""{ENROLLED_AT}
SELECT a.id::bigint AS unit_id, count(*) AS enrolled
  FROM enrolled en
  JOIN person p ON p.tenant_id = :tenant AND p.id = en.person_id
  CROSS JOIN LATERAL unnest(string_to_array(btrim(p.unit_path, '/'), '/')) AS a(id)
 WHERE a.id::bigint = ANY(CAST(:units AS bigint[]))
 GROUP BY 1
"""
