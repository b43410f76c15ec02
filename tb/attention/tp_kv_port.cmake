tokenpipe_rtl_test(MODULE tp_kv_port SOURCES attention/tp_kv_port_test.cpp DEPS tp_weight_port)
