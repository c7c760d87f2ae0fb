"""What the three peers share: the spec's constants and the output columns.

Each peer reads the same TSV series (tag = file name, lowercased) and writes
weekly_tag_metrics as Parquet with the columns tagpulse stores, so `compare.py` can hold
them cell for cell against tagpulse's table.
"""

MAX_GAP = 7 * 86_400  # [transform] max_gap, seconds; exactly 7 days still interpolates
Z_WINDOW = 8  # weeks before w in the robust z-score
Z_MIN = 6  # non-null weeks needed in that window
BREAKOUT_Z = 3.5
PLATFORM = "tiktok"  # `tagpulse import` defaults for TSV files
METRIC = "views"

COLUMNS = [
    "platform", "tag", "metric", "week_start", "total_end", "gained", "observations",
    "decreases", "coverage", "resolution", "wow_growth", "total_growth", "avg4", "momentum", "z",
    "z_median", "breakout",
]

# Weeks around week w whose snapshots give its counter resolution: T_w - 7 d to T_w+1 + 7 d.
RESOLUTION_WEEKS = (-1, 0, 1)
