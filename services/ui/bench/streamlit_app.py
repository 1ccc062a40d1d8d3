"""Baseline for bench/page-load.ts: the Predict page as the old stack's Streamlit UI built it
(a form with the listing fields, defaults from design.md, POST to the model API)."""
import os
from datetime import date

import requests
import streamlit as st

st.title("Predict a listing's price")
with st.form("listing"):
    status = st.selectbox("Status", ["for_sale", "sold", "ready_to_build"])
    house_size = st.number_input("House size (sq ft)", min_value=0.0, value=1500.0)
    acre_lot = st.number_input("Lot (acres)", min_value=0.0, value=0.25)
    bed = st.number_input("Bedrooms", min_value=0, value=3)
    bath = st.number_input("Bathrooms", min_value=0.0, value=2.0, step=0.5)
    prev_sold_date = st.date_input("Previously sold", value=date(2022, 3, 15))
    street = st.text_input("Street", "123 elm st")
    city = st.text_input("City", "springfield")
    state = st.text_input("State", "illinois")
    zip_code = st.text_input("ZIP code", "62704")
    brokered_by = st.number_input("Broker id", min_value=0, value=101)
    submitted = st.form_submit_button("Predict price")
if submitted:
    features = dict(status=status, house_size=house_size, acre_lot=acre_lot, bed=bed, bath=bath,
                    prev_sold_date=prev_sold_date.isoformat(), street=street, city=city, state=state,
                    zip_code=zip_code, brokered_by=brokered_by)
    r = requests.post(f"{os.environ['MODEL_API_URL']}/predict", json={"features": features}, timeout=5)
    if r.ok:
        body = r.json()
        st.metric("Price", f"${body['price']:,.0f}", help=f"{body['model']['name']} v{body['model']['version']}")
    else:
        st.error(r.json().get("message", r.text))
