// Generated from lakehouse/contracts.py by `python -m lakehouse.contracts`: do not edit.
module.exports = { clickstream: {"majors": ["2"], "eventTypes": ["page_view", "product_view", "add_to_cart", "checkout", "purchase", "search"], "optional": [{"name": "campaign_id", "type": "STRING"}]} };
