"""Quarter closings, expansion scopes, bought expansion hours and T&E approval."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from cso.models import ExpansionScope, ExpansionUse, Program, QuarterClosing, TravelExpense
from cso.services.closings import quarter_close, quarters_close_through
from cso.services.contracts import contract_renew
from cso.services.expansion import (
    Decision,
    expansion_hours_buy,
    expansion_scope_decide,
    expansion_scope_propose,
)
from cso.services.expenses import travel_expense_decide, travel_expense_request
from cso.services.time_entries import EntryFields, time_entry_log
from tests.conftest import NOW
from tests.factories import UserFactory

D = Decimal


def allowed_use():
    return ExpansionUse.objects.filter(allowed=True).first()


def propose(subscription, csm, hours, title="New messaging line"):
    return expansion_scope_propose(
        subscription=subscription, title=title, use=allowed_use(), hours=D(hours), by=csm, now=NOW
    )


def log_expansion(subscription, csm, scope, day, hours):
    return time_entry_log(
        subscription=subscription,
        fields=EntryFields(
            worked_on=day,
            hours=hours,
            program=Program.objects.get(code="expansion"),
            expansion_scope=scope,
        ),
        logged_by=csm,
        now=NOW,
    )


# Quarter closings


def test_finance_closes_ended_quarters_once_and_the_trail_names_them(premier, finance):
    closings = quarters_close_through(through=date(2026, 9, 30), by=finance, now=NOW)
    again = quarters_close_through(through=date(2026, 9, 30), by=finance, now=NOW)

    assert [c.quarter_index for c in closings] == [1, 2, 3]
    assert again == []
    assert LogEntry.objects.get_for_object(closings[0]).get().actor == finance


def test_a_quarter_cannot_close_before_it_ends_nor_by_a_csm(premier, finance, csm):
    with pytest.raises(ValidationError) as early:
        quarter_close(contract=premier.contract, quarter_index=4, by=finance, now=NOW)
    with pytest.raises(PermissionDenied):
        quarter_close(contract=premier.contract, quarter_index=1, by=csm, now=NOW)

    assert early.value.message_dict == {
        "quarter_index": ["Quarter 4 runs until 2026-12-31; close it after."]
    }
    assert not QuarterClosing.objects.exists()


# Expansion scopes (Section 9)


def test_time_waits_for_the_customer_to_approve_the_scope(premier, csm, customer_admin):
    scope = propose(premier, csm, "20")

    with pytest.raises(ValidationError) as refused:
        log_expansion(premier, csm, scope, date(2026, 5, 4), "4")
    expansion_scope_decide(scope=scope, decision=Decision.APPROVE, by=customer_admin, now=NOW)
    entry = log_expansion(premier, csm, scope, date(2026, 5, 4), "4")

    assert "is proposed, not approved" in refused.value.message_dict["expansion_scope"][0]
    assert entry.included_hours == D(4)


def test_a_scope_beyond_the_pack_is_funded_or_sent_back(premier, csm, customer_admin):
    pack_hours = premier.expansion_pack.hours
    scope = propose(premier, csm, str(pack_hours + 10))

    with pytest.raises(ValidationError) as approve:
        expansion_scope_decide(scope=scope, decision=Decision.APPROVE, by=customer_admin, now=NOW)
    funded = expansion_scope_decide(scope=scope, decision=Decision.FUND, by=customer_admin, now=NOW)

    assert "fund the other 10.00 hours" in approve.value.message_dict["decision"][0]
    assert (funded.status, funded.funded_hours) == (ExpansionScope.Status.APPROVED, D(10))


def test_a_change_request_goes_back_to_the_csm_and_only_admins_decide(premier, csm, customer_admin):
    scope = propose(premier, csm, "8")

    with pytest.raises(PermissionDenied):
        expansion_scope_decide(scope=scope, decision=Decision.APPROVE, by=csm, now=NOW)
    with pytest.raises(ValidationError):
        expansion_scope_decide(
            scope=scope, decision=Decision.REQUEST_CHANGE, by=customer_admin, now=NOW
        )
    changed = expansion_scope_decide(
        scope=scope,
        decision=Decision.REQUEST_CHANGE,
        by=customer_admin,
        note="Fit it in 6 hours",
        now=NOW,
    )
    status_after_request = changed.status
    revised = expansion_scope_propose(
        subscription=premier,
        title="Smaller",
        use=allowed_use(),
        hours=D(6),
        by=csm,
        scope=changed,
        now=NOW,
    )

    assert status_after_request == ExpansionScope.Status.CHANGE_REQUESTED
    assert (revised.pk, revised.status, revised.hours) == (scope.pk, "proposed", D(6))


def test_time_cannot_exceed_the_approved_scope(premier, csm, customer_admin):
    scope = propose(premier, csm, "6")
    expansion_scope_decide(scope=scope, decision=Decision.APPROVE, by=customer_admin, now=NOW)
    log_expansion(premier, csm, scope, date(2026, 5, 4), "4")

    with pytest.raises(ValidationError) as excinfo:
        log_expansion(premier, csm, scope, date(2026, 5, 5), "3")

    assert excinfo.value.message_dict["hours"] == [
        "'New messaging line' is scoped at 6.00 hours and 4.00 are logged; 3.00 more would "
        "exceed it. Ask the customer to fund more hours or change the scope."
    ]


def test_expansion_hours_are_bought_only_with_a_renewal(premier, csm):
    with pytest.raises(ValidationError) as first_term:
        expansion_hours_buy(subscription=premier, hours=D(10), by=csm)
    renewal = contract_renew(contract=premier.contract, signed_at=NOW)
    pack = expansion_hours_buy(subscription=renewal.subscriptions.get(), hours=D(10), by=csm)

    assert first_term.value.message_dict["subscription"] == [
        "Additional expansion hours can be bought only with a renewal (Section 9)."
    ]
    assert pack.additional_hours == D(10)


# Travel and expenses (Section 1)


def test_t_and_e_needs_the_customers_approval_before_the_trip(premier, csm, customer_admin):
    expense = travel_expense_request(
        subscription=premier,
        incurred_on=date(2026, 12, 2),
        description="Onsite QBR in Seattle",
        amount="1840.50",
        by=csm,
        now=NOW,
    )
    approved = travel_expense_decide(expense=expense, approve=True, by=customer_admin, now=NOW)

    assert (approved.status, approved.quarter_index) == (TravelExpense.Status.APPROVED, 4)
    assert approved.amount == D("1840.50")


@pytest.mark.parametrize(
    ("incurred_on", "amount", "errors"),
    [
        (
            date(2026, 11, 20),
            "100",
            {
                "incurred_on": [
                    "T&E needs the customer's approval in advance; request it before the "
                    "travel date."
                ]
            },
        ),
        (date(2026, 12, 2), "-5", {"amount": ["The amount must be more than zero."]}),
        (
            date(2026, 12, 2),
            "1.005",
            {"amount": ["'1.005' needs at most two decimal places and 10 digits."]},
        ),
    ],
)
def test_bad_t_and_e_requests_are_refused(premier, csm, incurred_on, amount, errors):
    with pytest.raises(ValidationError) as excinfo:
        travel_expense_request(
            subscription=premier,
            incurred_on=incurred_on,
            description="Trip",
            amount=amount,
            by=csm,
            now=NOW,
        )

    assert excinfo.value.message_dict == errors


def test_t_and_e_approval_after_the_trip_is_refused(premier, csm, customer_admin):
    expense = travel_expense_request(
        subscription=premier,
        incurred_on=date(2026, 11, 25),
        description="Workshop",
        amount="300",
        by=csm,
        now=NOW,
    )
    late = datetime(2026, 11, 26, 12, tzinfo=UTC)

    with pytest.raises(ValidationError):
        travel_expense_decide(expense=expense, approve=True, by=customer_admin, now=late)
    with pytest.raises(PermissionDenied):
        travel_expense_decide(expense=expense, approve=True, by=UserFactory(), now=NOW)


def test_quarters_end_where_the_customer_is(premier, finance):
    premier.contract.organization.time_zone = "Pacific/Honolulu"
    premier.contract.organization.save()
    still_march_31_in_honolulu = datetime(2026, 4, 1, 5, tzinfo=UTC)

    with pytest.raises(ValidationError):
        quarter_close(
            contract=premier.contract, quarter_index=1, by=finance, now=still_march_31_in_honolulu
        )
    assert (
        quarters_close_through(
            through=date(2026, 3, 31), by=finance, now=still_march_31_in_honolulu
        )
        == []
    )


def test_expansion_hours_cannot_be_bought_once_the_renewal_has_a_closed_quarter(
    premier, csm, finance
):
    renewal = contract_renew(contract=premier.contract, signed_at=NOW)
    later = datetime(2027, 4, 2, 12, tzinfo=UTC)
    quarter_close(contract=renewal, quarter_index=1, by=finance, now=later)

    with pytest.raises(ValidationError) as excinfo:
        expansion_hours_buy(subscription=renewal.subscriptions.get(), hours=D(10), by=csm)

    assert excinfo.value.message_dict["subscription"] == [
        "Expansion hours are bought with the renewal, before finance closes its first quarter."
    ]


def test_no_t_and_e_lands_in_a_closed_quarter(premier, csm, finance):
    quarters_close_through(through=date(2026, 9, 30), by=finance, now=NOW)
    early = datetime(2026, 9, 1, 12, tzinfo=UTC)

    with pytest.raises(ValidationError) as excinfo:
        travel_expense_request(
            subscription=premier,
            incurred_on=date(2026, 9, 20),
            description="Trip",
            amount="10",
            by=csm,
            now=early,
        )

    assert excinfo.value.message_dict == {
        "incurred_on": ["The contract quarter of 2026-09-20 is closed and billed."]
    }


def test_the_admin_keeps_a_closed_quarters_rate(premier, finance):
    from django.forms import inlineformset_factory

    from cso.forms import OverageRateForm, OverageRateFormSet
    from cso.models import Contract, OverageRate

    contract = premier.contract
    quarters_close_through(through=date(2026, 6, 30), by=finance, now=NOW)
    rate = contract.overage_rates.get()
    RateFormSet = inlineformset_factory(
        Contract,
        OverageRate,
        form=OverageRateForm,
        formset=OverageRateFormSet,
        fields=("effective_from", "hourly_rate", "agreement_reference"),
        extra=0,
    )

    def post(rows):
        data = {
            "overage_rates-TOTAL_FORMS": str(len(rows)),
            "overage_rates-INITIAL_FORMS": "1",
        }
        for index, row in enumerate(rows):
            data |= {f"overage_rates-{index}-{key}": value for key, value in row.items()}
        return RateFormSet(data, instance=contract, prefix="overage_rates")

    current = {"id": rate.pk, "contract": contract.pk, "effective_from": "2026-01-01"}
    repriced = post([current | {"hourly_rate": "500.00"}])
    added_in_q2 = post(
        [
            current | {"hourly_rate": "150.00"},
            {"effective_from": "2026-05-01", "hourly_rate": "175.00"},
        ]
    )
    added_in_q3 = post(
        [
            current | {"hourly_rate": "150.00"},
            {"effective_from": "2026-07-01", "hourly_rate": "175.00"},
        ]
    )

    message = (
        "Quarter 2 (to 2026-06-30) is closed and billed; a new rate can take effect from "
        "2026-07-01."
    )
    assert repriced.non_form_errors() == added_in_q2.non_form_errors() == [message]
    assert added_in_q3.is_valid(), added_in_q3.non_form_errors()
