tokenpipe_rtl_test(MODULE tp_quant_divider SOURCES units/tp_quant_divider_test.cpp)
# The same tests at MagWidth 32, the configuration tp_head_quant instantiates.
tokenpipe_rtl_test(MODULE tp_quant_divider NAME tp_quant_divider_w32 SOURCES units/tp_quant_divider_test.cpp
                   VERILATOR_ARGS -GMagWidth=32)
if(TARGET tp_quant_divider_w32_test)
  target_compile_definitions(tp_quant_divider_w32_test PRIVATE TP_QUANT_DIVIDER_MAG_WIDTH=32)
endif()
