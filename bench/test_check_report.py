"""What bench/check_report.py refuses (scripts/test runs this before bench/smoke): a report the
harness would write passes, and each way a run can go wrong is named."""
import unittest

from check_report import problems

SQLITE, POSTGRES = [500, 1000], [500]


def report(target_rows=9):
    """A report as bench/run writes it, reduced to what check_report.py reads."""
    lines = []
    for n, engine in [(n, "SQLite") for n in SQLITE] + [(n, "PostgreSQL") for n in POSTGRES]:
        lines += [f"## {n:,} residents, {engine}", "", "| page | conns | minside req/s | static req/s | ratio |"
                  " p50 ms | p90 ms | p99 ms | max ms | errors |"]
        for conns in (32, 256):
            for page in ("dashboard", "inbox", "letter"):
                lines.append(f"| {page} | {conns} | 12,345 | 60,000 | 1/4.9 | 1.0 | 2.0 | 3.0 | 9.0 | 0 |")
        lines += ["", "Instructions per request (callgrind): dashboard 100,000, inbox 200,000, letter 130,000.",
                  "(each run: 1,000, 1,100, 900; errors in all runs: 0)"]
    lines += ["**PostgreSQL alone** (pgbench)", "## Scale curve", "**Alternated**",
              "## Notification and print-fallback runs", "## Against the targets", "",
              "| target | measured | met? |", "|-|-|-|"]
    lines += [f"| target {i} | figure | yes |" for i in range(target_rows)]
    return "\n".join(lines) + "\n"


class CheckReport(unittest.TestCase):
    def test_a_whole_report_passes(self):
        self.assertEqual(problems(report(), SQLITE, POSTGRES), [])

    def test_a_missing_section_is_named(self):
        text = report().replace("## 1,000 residents, SQLite", "## 1,000 residents")
        self.assertIn("no section '## 1,000 residents, SQLite'", problems(text, SQLITE, POSTGRES))

    def test_a_section_the_run_did_not_ask_for_leaves_rows_over(self):
        found = problems(report(), SQLITE, [])
        self.assertIn("18 page rows, not 12", found)

    def test_failed_requests_are_named(self):
        text = report().replace("| letter | 256 | 12,345 | 60,000 | 1/4.9 | 1.0 | 2.0 | 3.0 | 9.0 | 0 |",
                                "| letter | 256 | 12,345 | 60,000 | 1/4.9 | 1.0 | 2.0 | 3.0 | 9.0 | 17 |", 1)
        self.assertTrue(any(f.startswith("failed requests: | letter | 256") for f in problems(text, SQLITE, POSTGRES)))

    def test_a_page_that_answered_nothing_is_named(self):
        text = report().replace("| inbox | 32 | 12,345", "| inbox | 32 | 0", 1)
        self.assertTrue(any(f.startswith("no requests/s: | inbox | 32") for f in problems(text, SQLITE, POSTGRES)))

    def test_failed_letters_in_an_ingest_are_named(self):
        text = report().replace("errors in all runs: 0", "errors in all runs: 3", 1)
        self.assertIn("3 failed letters in an ingest", problems(text, SQLITE, POSTGRES))

    def test_instructions_not_counted_are_named(self):
        text = report().replace("Instructions per request (callgrind): dashboard", "Instructions: dashboard", 1)
        self.assertIn("instructions counted for 2 sections", problems(text, SQLITE, POSTGRES))

    def test_a_targets_table_with_a_row_missing_is_named(self):
        self.assertIn("the targets table has not nine rows", problems(report(8), SQLITE, POSTGRES))


if __name__ == "__main__":
    unittest.main()
