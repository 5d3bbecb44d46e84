"""Reads cells of an .xlsx with openpyxl (not excelize) and prints them as JSON:
for each SHEET!CELL argument, the Python type of the value, the value and the
number format. Used by TestFixtureFiles."""
import datetime
import json
import sys

import openpyxl

book = openpyxl.load_workbook(sys.argv[1])
out = {}
for ref in sys.argv[2:]:
    sheet, cell = ref.split("!")
    c = book[sheet][cell]
    v = c.value
    if isinstance(v, datetime.datetime):
        v = v.isoformat()
    elif isinstance(v, datetime.timedelta):
        v = v.total_seconds()
    elif isinstance(v, datetime.time):
        v = v.hour * 3600 + v.minute * 60 + v.second
    out[ref] = {"type": type(c.value).__name__, "value": v, "format": c.number_format}
json.dump(out, sys.stdout, ensure_ascii=False)
