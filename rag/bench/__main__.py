"""`python -m rag.bench`: the benchmark table (see `rag.bench.run`)."""

from rag.bench.run import main

main()
