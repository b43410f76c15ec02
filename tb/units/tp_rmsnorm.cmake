tokenpipe_rtl_test(MODULE tp_rmsnorm SOURCES units/tp_rmsnorm_test.cpp DEPS tp_fifo tp_rsqrt tp_act_quant tp_quant_divider)
