from __future__ import annotations

from celery import shared_task


@shared_task(name="blacklist.unsubscribe_request")
def unsubscribe_request(account_id: int, number: str) -> bool:
    """The unsubscribe page's request: blacklist `number` on the account, with the
    confirmation SMS and its credit, only if the account ever messaged it."""
    from accounts.models import Account
    from blacklist.models import BlacklistSource
    from blacklist.services import blacklist_number
    from campaigns.models import LastSent

    if not LastSent.objects.filter(phone_number=number, account_id=account_id).exists():
        return False
    _entry, created = blacklist_number(
        account=Account.objects.get(pk=account_id),
        number=number,
        source=BlacklistSource.WEB,
        note="unsubscribe page",
    )
    return created
