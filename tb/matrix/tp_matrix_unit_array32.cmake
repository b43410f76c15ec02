# The 32 x 32 PE array (the seed chapter's 1024 MACs per cycle).
tokenpipe_rtl_test(MODULE tp_matrix_unit NAME tp_matrix_unit_array32
  SOURCES matrix/tp_matrix_unit_array32_test.cpp
  DEPS tp_delay_line tp_weight_port tp_pe_column tp_block_scaler tp_matrix_engine
  VERILATOR_ARGS -GRows=32 -GCols=32)
