drop table api.pricing_plans;
drop type api.pricing_plan_color;
