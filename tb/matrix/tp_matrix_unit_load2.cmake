# Two weight beats per cycle from the port's FIFO into the tile banks
# (LoadBeats 2): the tests of tp_matrix_unit_test.cpp at the default 16 x 8
# array and at 16 x 16 (where INT4 is bound by the loader, not the array).
foreach(_tp_variant IN ITEMS "load2;8" "load2_cols16;16")
  list(GET _tp_variant 0 _tp_name)
  list(GET _tp_variant 1 _tp_cols)
  tokenpipe_rtl_test(MODULE tp_matrix_unit NAME tp_matrix_unit_${_tp_name}
    SOURCES matrix/tp_matrix_unit_test.cpp
    DEPS tp_delay_line tp_weight_port tp_pe_column tp_block_scaler tp_matrix_engine
    VERILATOR_ARGS -GLoadBeats=2 -GCols=${_tp_cols})
  if(TARGET tp_matrix_unit_${_tp_name}_test)
    target_compile_definitions(tp_matrix_unit_${_tp_name}_test PRIVATE
      TP_MATRIX_UNIT_LOAD_BEATS=2 TP_MATRIX_UNIT_COLS=${_tp_cols})
  endif()
endforeach()
