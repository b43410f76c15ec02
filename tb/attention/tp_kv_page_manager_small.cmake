# A small parameter set: a pool and a table count that are not powers of two,
# 4-token pages, ids and positions beyond every limit representable.
tokenpipe_rtl_test(MODULE tp_kv_page_manager NAME tp_kv_page_manager_small
  SOURCES attention/tp_kv_page_manager_small_test.cpp
  VERILATOR_ARGS -GNumPages=12 -GMaxSeqs=3 -GMaxPrefixes=2 -GPageSize=4 -GMaxSeqLen=32 -GIdWidth=3 -GPosWidth=6)
