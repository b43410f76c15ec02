tokenpipe_rtl_test(MODULE tp_silu SOURCES units/tp_silu_test.cpp)
