tokenpipe_rtl_test(MODULE tp_rsqrt SOURCES units/tp_rsqrt_test.cpp)
