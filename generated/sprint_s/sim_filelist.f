rtl/sprint_s_controller.v
rtl/sprint_s_exp2.v
rtl/sprint_s_recip.v
rtl/sprint_s_engine.v
rtl/sprint_s_buffer.v
rtl/sprint_s_top.v
sim/sprint_s_xbar_model.v
sim/sprint_s_tb_harness.v
