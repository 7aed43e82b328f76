"""Valid sales documents for the export's tests, and loading them into the emulator."""

import datetime as dt

from generators.jobs import write_documents

COLLECTION = "winter_sales"


def sale(k: int, day: dt.date, **changes) -> tuple[str, dict]:
    sale_id = f"S{day:%Y%m%d}-{k:07d}"
    moment = dt.datetime.combine(day, dt.time(9), dt.UTC) + dt.timedelta(seconds=k)
    record = {
        "sale_id": sale_id, "customer_id": f"C{k % 7}", "product_id": "P1", "product_category": "home",
        "quantity": 1, "unit_price": 5.0, "amount": 5.0, "currency": "EUR", "status": "completed",
        "payment_method": "visa", "payment_method_category": "card", "contact_email_hashed": "ab",
        "credit_card_last4": "1234", "region": "north", "channel": "web",
        "sale_timestamp": moment.isoformat(), "schema_version": "2.0.0", "updated_at": moment,
    }
    record.update(changes)
    return sale_id, record


def load(firestore, documents) -> list[str]:
    write_documents(firestore, firestore.collection(COLLECTION), documents)
    return sorted(doc_id for doc_id, _ in documents)
