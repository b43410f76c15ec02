tokenpipe_rtl_test(MODULE tp_head_quant SOURCES units/tp_head_quant_test.cpp DEPS tp_quant_divider)
# The same tests with 8 divider lanes (8 chunks per head of 64: II 8, latency 23).
tokenpipe_rtl_test(MODULE tp_head_quant NAME tp_head_quant_div8 SOURCES units/tp_head_quant_test.cpp
                   DEPS tp_quant_divider VERILATOR_ARGS -GDivLanes=8)
if(TARGET tp_head_quant_div8_test)
  target_compile_definitions(tp_head_quant_div8_test PRIVATE TP_HEAD_QUANT_DIV_LANES=8)
endif()
