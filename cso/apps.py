from django.apps import AppConfig


class CsoConfig(AppConfig):
    name = "cso"
    verbose_name = "Customer Success Offerings"

    def ready(self) -> None:
        from . import audit

        audit.register_models()
