tokenpipe_rtl_test(MODULE tp_exp2 SOURCES units/tp_exp2_test.cpp)
