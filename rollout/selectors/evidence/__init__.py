"""The executive evidence timeline (issue 16 part 2): what happened to every workflow a reader
may see, read only from the domain tables. entries.py says what an entry and a kind are,
kinds.py holds the kinds, timeline.py the UNION and the paging, board_pack.py the printed pack."""
