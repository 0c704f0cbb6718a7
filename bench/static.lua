-- wrk script for the static ceiling: plain GETs, reported like the others.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
