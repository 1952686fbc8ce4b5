"""Support tickets, the SLA policies they run on, and each ticket's clocks.

A ticket's targets and escalations are stored rows, written by `tickets.services.clocks` from the
pure arithmetic in `tickets.sla`: the database then answers "what is due now" with one indexed
query (`next_alert_at`), and each row records what was promised, when it was met and what was
sent, so reports and sweeps never recompute a clock.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from tickets.sla import EscalationAction, TargetKind


class SlaPolicy(models.Model):
    """A policy file as loaded (`manage.py load_sla_policies`): its text is the source of truth,
    parsed by `tickets.policy_parse` when a clock is computed."""

    code = models.SlugField(max_length=60, unique=True, help_text="The file's name.")
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=400, blank=True)
    notes = models.TextField(blank=True)
    applies_to = models.JSONField(default=list, help_text="Package codes the policy serves.")
    text = models.TextField(help_text="The policy file as loaded.")
    checksum = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1, help_text="Raised each time the file changes.")
    loaded_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    class Kind(models.TextChoices):
        NON_BUG = "non_bug", "Non-bug issue"
        BUG = "bug", "Bug"

    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Channel(models.TextChoices):
        WEB = "web", "Web"
        PHONE = "phone", "Phone"
        CHAT = "chat", "Chat"
        MESSAGING = "messaging", "Messaging (primary engineer)"
        EMAIL = "email", "Email"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="tickets"
    )
    subscription = models.ForeignKey(
        "cso.PackageSubscription", on_delete=models.PROTECT, related_name="tickets"
    )
    line_of_business = models.ForeignKey(
        "accounts.LineOfBusiness",
        on_delete=models.PROTECT,
        related_name="tickets",
        null=True,
        blank=True,
    )
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=16, help_text="A severity code of the ticket's policy.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NON_BUG)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.NEW)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        limit_choices_to={"is_staff": True},
    )
    support_level = models.CharField(max_length=60, default="Level 1")
    sla_policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="tickets")
    sla_package = models.CharField(
        max_length=60, help_text="The package whose targets the ticket gets in its policy."
    )
    opened_at = models.DateTimeField(help_text="When the customer reported the problem.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    import_reference = models.CharField(max_length=120, null=True, blank=True, unique=True)
    # What meets the targets (see tickets.clock): kept here so clocks are recomputed from facts.
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rca_delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_bug(self) -> bool:
        return self.kind == self.Kind.BUG


class TicketMessage(models.Model):
    """A public reply (the customer sees it; from staff it is an update) or an internal note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    is_public = models.BooleanField(default=True)
    from_staff = models.BooleanField()
    is_root_cause_analysis = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return f"{'Reply' if self.is_public else 'Note'} on #{self.ticket_id}"


class TicketPause(models.Model):
    """Time the clocks stood still: waiting on the customer, or resolved until a reopening."""

    class Reason(models.TextChoices):
        WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
        RESOLVED = "resolved", "Resolved (until reopened)"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField(max_length=24, choices=Reason.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(ended_at__isnull=True), name="one_open_pause"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="pause_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} from {self.started_at:%Y-%m-%d %H:%M}"


class TicketTarget(models.Model):
    """One promise on one ticket; periodic updates keep one row per cycle (`cycle` 0, 1, ...).

    `next_alert_at` is the next moment the sweep owes something (the warning, then the breach
    notice); null once both are sent or the target is met or has no due time.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=24, choices=[(k.value, k.value) for k in TargetKind])
    cycle = models.PositiveIntegerField(default=0)
    duration = models.CharField(max_length=40)
    calendar = models.CharField(max_length=60)
    started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warning_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    breached = models.BooleanField(default=False)
    seconds_late = models.PositiveBigIntegerField(default=0)
    warned_at = models.DateTimeField(null=True, blank=True)
    breach_notified_at = models.DateTimeField(null=True, blank=True)
    next_alert_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "kind", "cycle"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "cycle"], name="one_target_per_cycle")
        ]
        indexes = [
            models.Index(
                fields=["next_alert_at"],
                condition=Q(next_alert_at__isnull=False),
                name="target_alert_due",
            ),
            models.Index(fields=["due_at"], name="target_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.cycle} on ticket {self.ticket_id}"


class TicketEscalation(models.Model):
    """One escalation rule of the ticket's policy: fires once at `due_at` unless stopped."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    position = models.PositiveSmallIntegerField(help_text="The rule's place in the policy.")
    after = models.CharField(max_length=40)
    action = models.CharField(max_length=16, choices=[(a.value, a.value) for a in EscalationAction])
    target = models.CharField(max_length=200)
    unless_met = models.CharField(max_length=24, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    next_alert_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "position"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "position"], name="one_row_per_rule")
        ]
        indexes = [
            models.Index(
                fields=["next_alert_at"],
                condition=Q(next_alert_at__isnull=False),
                name="escalation_alert_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target} after {self.after}"


class SlaRecalculation(models.Model):
    """A logged recalculation of a ticket's clocks after its policy or severity changed."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="recalculations")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300)
    changes = models.JSONField(default=list, help_text="Each target's due time before and after.")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"Recalculated {self.at:%Y-%m-%d %H:%M}: {self.reason}"
