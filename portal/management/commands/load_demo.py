from django.core.management import BaseCommand, call_command
from django.utils import timezone

from cso.models import Package
from portal.demo import demo_load
from tickets.models import SlaPolicy


class Command(BaseCommand):
    help = "Create demo customers, contracts, tickets and one login per role (idempotent)."

    def handle(self, *args, **options):
        if not Package.objects.exists():
            call_command("load_catalog", verbosity=options["verbosity"])
        if not SlaPolicy.objects.exists():
            call_command("load_sla_policies", verbosity=options["verbosity"])
        logins = demo_load(today=timezone.localdate(), now=timezone.now())
        if options["verbosity"]:
            for login in logins:
                self.stdout.write(f"{login.role:<16} {login.email:<28} {login.password}")
