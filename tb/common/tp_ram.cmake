tokenpipe_rtl_test(MODULE tp_ram SOURCES common/tp_ram_test.cpp)
