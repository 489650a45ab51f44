# Generates the sample JSON lines of the fraud example (see README.md).
# Deterministic: a fixed seed, so running it again gives the same files.
import json, random
from datetime import datetime, timedelta, timezone

random.seed(42)
ts = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
countries = ["FR", "DE", "ES", "IT", "NL", "BE", "PT"]
merchants = [f"m-{i:03d}" for i in range(1, 21)]
start = datetime(2025, 3, 1, tzinfo=timezone.utc)

with open("user_txn_stats.jsonl", "w") as out:
    for u in range(1001, 1041):
        home = random.choice(countries)
        base_count = random.randint(2, 40)
        base_amount = random.uniform(12, 180)
        favourite = random.choice(merchants)
        with_merchant = random.randint(0, 5)
        last_txn = start - timedelta(hours=random.randint(1, 48))
        for d in range(7):
            event = start + timedelta(days=d)
            count = max(0, base_count + random.randint(-5, 5))
            merchant = favourite if random.random() < 0.7 else random.choice(merchants)
            if merchant == favourite:
                with_merchant += random.randint(0, 3)
            seen = [home] + random.sample(countries, random.randint(0, 2))
            row = {
                "user_id": u,
                "merchant_id": merchant,
                "txn_count_7d": count,
                # No transactions in the window: no mean.
                "avg_amount_7d": round(base_amount * random.uniform(0.8, 1.2), 2) if count else None,
                "countries_30d": sorted(set(seen)),
                "txn_count_with_merchant_30d": with_merchant if merchant == favourite else random.randint(1, 3),
                "last_txn_at": ts(last_txn),
                "event_timestamp": ts(event),
                "created": ts(event + timedelta(minutes=random.randint(20, 90))),
            }
            out.write(json.dumps(row) + "\n")
            # A few days were recomputed later: same event time, later created
            # time, corrected values (the later created row wins ties).
            if random.random() < 0.04:
                row["txn_count_7d"] = count + 1
                row["created"] = ts(event + timedelta(hours=6))
                out.write(json.dumps(row) + "\n")
            last_txn = event + timedelta(hours=random.randint(1, 23))

with open("merchant_stats.jsonl", "w") as out:
    for m in merchants:
        rate = random.uniform(0.001, 0.03) if random.random() < 0.8 else random.uniform(0.04, 0.09)
        for h in range(12):
            event = start + timedelta(days=6, hours=h)
            r = max(0.0, rate + random.uniform(-0.004, 0.004))
            out.write(json.dumps({
                "merchant_id": m,
                "chargeback_rate_30d": round(r, 4),
                "is_high_risk": r > 0.05,
                "event_timestamp": ts(event),
            }) + "\n")
