tokenpipe_rtl_test(MODULE tp_act_quant SOURCES units/tp_act_quant_test.cpp DEPS tp_quant_divider)
