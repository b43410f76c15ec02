tokenpipe_rtl_test(MODULE tp_rope SOURCES units/tp_rope_test.cpp)
