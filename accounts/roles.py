"""What each role may do in the admin.

Permissions follow from a user's role rather than from hand-kept groups, so a new model or a new
CSM never needs a manual grant. Object-level rules (a CSM edits only assigned customers, a
customer sees only its own organization) live in `accounts.selectors` and the permission classes.
"""

from django.apps import apps
from django.contrib.auth.backends import ModelBackend

# Apps whose data CSMs run day to day.
CSM_APPS = ("accounts", "cso", "tickets")
# Finance reads everything that carries money or hours, and changes nothing of customers' data.
FINANCE_VIEW_APPS = ("accounts", "cso", "tickets")
# Support engineers work tickets and read the rest.
SUPPORT_APPS = ("tickets",)
# The audit trail is read by both; finance also closes contract quarters (`quarter_close`).
AUDIT_TRAIL = frozenset({"auditlog.view_logentry"})
FINANCE_EXTRA: frozenset[str] = AUDIT_TRAIL | {"cso.add_quarterclosing"}


def _model_permissions(app_labels: tuple[str, ...], actions: tuple[str, ...]) -> frozenset[str]:
    names = set()
    for label in app_labels:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models():
            meta = model._meta
            for action in actions:
                if action in meta.default_permissions:
                    names.add(f"{meta.app_label}.{action}_{meta.model_name}")
            names.update(f"{meta.app_label}.{codename}" for codename, _ in meta.permissions)
    return frozenset(names)


def role_permissions(role: str) -> frozenset[str]:
    """The admin permissions a role grants, as 'app_label.codename' strings."""
    if role == "csm":
        return _model_permissions(CSM_APPS, ("add", "change", "delete", "view")) | frozenset(
            {"django_celery_beat.view_periodictask", *AUDIT_TRAIL}
        )
    if role == "support":
        # Support engineers work tickets; they read customers, contracts and hours.
        return _model_permissions(SUPPORT_APPS, ("add", "change", "view")) | _model_permissions(
            FINANCE_VIEW_APPS, ("view",)
        )
    if role == "finance":
        return _model_permissions(FINANCE_VIEW_APPS, ("view",)) | FINANCE_EXTRA
    return frozenset()


class RolePermissionBackend(ModelBackend):
    """Adds the permissions of the user's role to those granted individually or by group."""

    def get_group_permissions(self, user_obj, obj=None):
        permissions = set(super().get_group_permissions(user_obj, obj))
        if user_obj.is_active and not user_obj.is_anonymous and obj is None:
            permissions |= role_permissions(getattr(user_obj, "role", ""))
        return permissions
