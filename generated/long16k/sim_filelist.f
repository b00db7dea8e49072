rtl/long16k_controller.v
rtl/long16k_exp2.v
rtl/long16k_recip.v
rtl/long16k_engine.v
rtl/long16k_buffer.v
rtl/long16k_top.v
sim/long16k_xbar_model.v
sim/long16k_tb_harness.v
