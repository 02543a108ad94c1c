"""What gorila_sim and mbmpo both use, in a package that depends on neither: the live display of a run
(`runcommon.display`, `runcommon.charts`) and the count of usable cores (`runcommon.cores`)."""
