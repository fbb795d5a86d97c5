"""to_html against the plain pair it replaces: ``markdown.markdown(text, extensions=...)`` + ``nh3.clean``.

Run: ``python benchmarks/bench_render.py [runs]``. Prints the median of each in ms for a ~2 KB
answer (prose, a list, a table, fenced code). to_html does more (an explicit allow-list, URL
checks, a style block) but reuses one converter and one sanitizer, so it should not be slower.
"""

from __future__ import annotations

import statistics
import sys
import time

import markdown
import nh3

from dataoorts_magic.display.render import EXTENSIONS, to_html
from dataoorts_magic.display.safe_markdown import to_safe_markdown

ANSWER = """## Reading a CSV file with pandas

To load a CSV file you call `pd.read_csv`. It infers the column types, parses dates when
asked, and returns a **DataFrame**. A few options matter most in practice:

- `sep`: the delimiter, for files that use `;` or tabs
- `usecols`: read only the columns you need, which saves memory
- `dtype`: force a type, e.g. keep ZIP codes as strings
- `parse_dates`: turn text columns into `datetime64`

| option        | default | when to change it                       |
|:--------------|:-------:|----------------------------------------:|
| `sep`         | `,`     | semicolon or tab separated files        |
| `usecols`     | all     | wide files where you need a few columns |
| `dtype`       | guessed | IDs with leading zeros                  |
| `parse_dates` | none    | timestamps you want to filter by        |

```python
import pandas as pd

df = pd.read_csv(
    "sales.csv",
    usecols=["date", "region", "amount"],
    dtype={"region": "category"},
    parse_dates=["date"],
)
monthly = df.groupby([df["date"].dt.to_period("M"), "region"])["amount"].sum()
print(monthly.head())
```

For very large files, pass `chunksize=100_000` and process the chunks in a loop, or read
only the first rows with `nrows=1000` while you explore. If a file has a broken line,
`on_bad_lines="skip"` keeps going; check how many rows you lost with `len(df)` afterwards.
See <https://pandas.pydata.org/docs/reference/api/pandas.read_csv.html> for every option.

### Common problems

1. **Wrong encoding**: pass `encoding="latin-1"` when you see a `UnicodeDecodeError`.
2. **Thousands separators**: `thousands=","` turns `1,234` into the number 1234.
3. **Mixed types warning**: set `low_memory=False` or give an explicit `dtype`.

> Tip: `df.info()` shows the inferred types and the memory each column uses, so you can
> spot a column that was read as `object` when it should have been numeric.
"""


def medians_ms(fns: dict, runs: int) -> dict:
    """Median time of each function in ms; the functions take turns, so drift hits them alike."""
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm up: first use builds the converter, the sanitizer and the lexers
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def main(runs: int = 200) -> None:
    m = medians_ms(
        {
            "to_html": lambda: to_html(ANSWER),
            "markdown.markdown + nh3.clean": lambda: nh3.clean(markdown.markdown(ANSWER, extensions=list(EXTENSIONS))),
            "to_safe_markdown": lambda: to_safe_markdown(ANSWER),
        },
        runs,
    )
    print(f"answer: {len(ANSWER.encode())} bytes, median of {runs} runs")
    for name, ms in m.items():
        print(f"{name + ':':32s}{ms:7.3f} ms")
    ours, base = m["to_html"], m["markdown.markdown + nh3.clean"]
    print("OK: to_html is no slower" if ours <= base else "SLOWER: to_html takes longer than the plain pair")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
