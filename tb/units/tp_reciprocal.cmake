tokenpipe_rtl_test(MODULE tp_reciprocal SOURCES units/tp_reciprocal_test.cpp)
