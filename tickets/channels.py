"""Which channels a customer's package opens (Tables 5 and 6 of the CSO terms).

Direct web case creation from Premier up, phone from Fundamentals up, the messaging channel to
the primary technical support engineer from Expert up; chat and email reach support on every
package. The rule reads the subscription's signed entitlements, so it follows the contract, not
today's catalog.
"""

from tickets.models import Ticket

# Channel -> the entitlement (deliverable code) that opens it; None: every package has it.
CHANNEL_ENTITLEMENT: dict[str, str | None] = {
    Ticket.Channel.WEB: "direct_web_case_creation",
    Ticket.Channel.PHONE: "phone_support",
    Ticket.Channel.CHAT: None,
    Ticket.Channel.MESSAGING: "messaging_channel_primary_engineer",
    Ticket.Channel.EMAIL: None,
}
PRIMARY_ENGINEER = "primary_tech_support_engineer"
# Channels a customer opens a case on by itself (API, portal); staff record the others.
SELF_SERVICE_CHANNELS = (Ticket.Channel.WEB, Ticket.Channel.MESSAGING)


def channel_refusal(channel: str, package_name: str, signed: set[str]) -> str | None:
    """Why the package does not open `channel`, or None when it does. `signed`: the deliverable
    codes the subscription includes."""
    needed = CHANNEL_ENTITLEMENT.get(channel)
    if needed is None or needed in signed:
        return None
    label = Ticket.Channel(channel).label
    what = {
        "direct_web_case_creation": "direct web case creation (Premier and above)",
        "phone_support": "phone support (Fundamentals and above)",
        "messaging_channel_primary_engineer": (
            "the messaging channel to a primary engineer (Expert and Strategic)"
        ),
    }[needed]
    others = ", ".join(
        Ticket.Channel(code).label.lower()
        for code, entitlement in CHANNEL_ENTITLEMENT.items()
        if entitlement is None or entitlement in signed
    )
    return (
        f"The {package_name} package does not include {what}, so a case cannot be opened by "
        f"{label.lower()}. Open it by {others}."
    )
