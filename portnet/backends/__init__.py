"""How portnet runs on each array library: one module per library.

Each holds what is particular to its library; :mod:`portnet.ops` holds what every library
shares.  ``numpy``, ``cupy`` and ``torch`` have an :class:`portnet.ops.Ops` of their own
(in place, in blocks, into a run's workspace); JAX, array-api-strict and Dask run the plain
one (XLA fuses and lays out by itself; the standard has no ``out=``; Dask's chunks are
NumPy's, run with NumPy's Ops).
"""
