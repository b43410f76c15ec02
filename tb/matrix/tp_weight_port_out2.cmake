# The two-beat output (OutBeats 2, what tp_matrix_unit uses at LoadBeats 2):
# the same tests, with a consumer taking 0, 1 or 2 beats per cycle.
tokenpipe_rtl_test(MODULE tp_weight_port NAME tp_weight_port_out2 SOURCES matrix/tp_weight_port_test.cpp
  VERILATOR_ARGS -GOutBeats=2)
if(TARGET tp_weight_port_out2_test)
  target_compile_definitions(tp_weight_port_out2_test PRIVATE TP_WEIGHT_PORT_OUT_BEATS=2)
endif()

# The matrix unit of the accelerator top: OutBeats 2 with a 1024-beat FIFO
# (tp_token_pipeline's MatrixFifoBeats). The full-FIFO test then buffers 973 beats.
tokenpipe_rtl_test(MODULE tp_weight_port NAME tp_weight_port_out2_fifo1024 SOURCES matrix/tp_weight_port_test.cpp
  VERILATOR_ARGS -GOutBeats=2 -GFifoBeats=1024)
if(TARGET tp_weight_port_out2_fifo1024_test)
  target_compile_definitions(tp_weight_port_out2_fifo1024_test PRIVATE TP_WEIGHT_PORT_OUT_BEATS=2
                             TP_WEIGHT_PORT_FIFO_BEATS=1024)
endif()
