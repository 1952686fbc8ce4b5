"""Customers (organizations), their lines of business, and the people who use the portal.

Roles: a CSM is staff assigned to customers; finance is staff that sees money across customers
without editing customers' data; customer admins and members belong to one or more organizations
through a membership.
"""

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo, available_timezones

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    """A customer's clocks (reminders, SLA business hours) run in a named IANA time zone."""
    if value not in available_timezones():
        raise ValidationError(
            f"'{value}' is not a time zone name; use one such as Europe/Berlin or America/New_York."
        )


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        extra.setdefault("role", User.Role.CSM)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address."""

    class Role(models.TextChoices):
        CSM = "csm", "Customer success manager"
        FINANCE = "finance", "Finance"
        SUPPORT = "support", "Support engineer"
        CUSTOMER = "customer", "Customer"

    username = None
    email = models.EmailField("email address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        full_name = self.get_full_name()
        return f"{full_name} <{self.email}>" if full_name else self.email

    def save(self, *args, **kwargs):
        # Staff status follows the role: CSMs, finance and support engineers work in the admin,
        # customers do not.
        self.is_staff = self.is_superuser or self.role in self.STAFF_ROLES
        super().save(*args, **kwargs)

    STAFF_ROLES = frozenset({Role.CSM, Role.FINANCE, Role.SUPPORT})

    @property
    def is_csm(self) -> bool:
        return self.role == self.Role.CSM

    @property
    def is_finance(self) -> bool:
        return self.role == self.Role.FINANCE


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)


class Organization(models.Model):
    """A customer of the Customer Success Offerings."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    review_reminder_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days before a review is due that the first reminder goes out."
    )
    review_reminder_last_days = models.PositiveSmallIntegerField(
        default=1, help_text="Days before a review is due that the last reminder goes out."
    )
    calendar_token = models.CharField(
        max_length=64,
        default=new_calendar_token,
        unique=True,
        help_text="Secret in the address of the customer's review calendar feed.",
    )
    csms = models.ManyToManyField(
        User,
        blank=True,
        related_name="assigned_organizations",
        limit_choices_to={"role": User.Role.CSM},
        verbose_name="assigned CSMs",
    )
    primary_support_engineer = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="primary_for_organizations",
        limit_choices_to={"is_staff": True},
        help_text="Expert and Strategic: the engineer every ticket of the customer is assigned to.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organization_name_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(review_reminder_last_days__lte=models.F("review_reminder_days")),
                name="organization_reminder_days_in_order",
                violation_error_message=(
                    "The last reminder comes after the first: give it fewer days before the "
                    "due date."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def today(self, now: datetime) -> date:
        """The customer's date at `now`: days (due dates, quarter ends, travel dates) are the
        customer's days, not the server's."""
        return timezone.localtime(now, ZoneInfo(self.time_zone)).date()


class LineOfBusiness(models.Model):
    """A line of business of a customer; packages are bought for one or more of them (Section 1)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="lines_of_business"
    )
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["organization__name", "name"]
        verbose_name_plural = "lines of business"
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), name="line_of_business_name_unique_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization.name} / {self.name}"


class Membership(models.Model):
    """A customer user's place in an organization."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Customer admin"
        MEMBER = "member", "Customer member"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user.email} ({self.get_role_display()}) at {self.organization.name}"
