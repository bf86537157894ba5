"""``mlxport bench``: the timing harness. ``timing`` (measure, Samples, Budget), ``stats``
(Mann-Whitney U), ``harness`` (one target's cells in one process), ``run`` (processes, interleaved),
``benchfile`` (the ``mlxport.bench/1`` document), ``gate`` (``--baseline``), ``report`` (the table)."""
