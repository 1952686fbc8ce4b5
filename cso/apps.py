from django.apps import AppConfig


class CsoConfig(AppConfig):
    name = "cso"
    verbose_name = "Customer Success Offerings"
