"""Building the POST data of admin pages with inline formsets."""


def formset(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    """An inline formset's management form plus its rows, as the admin page posts them."""
    data = {
        f"{prefix}-TOTAL_FORMS": len(rows),
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data
