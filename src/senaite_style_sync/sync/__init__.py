"""The sync itself: scope, plan, the pipeline (readers ahead of one writer, checkpoints) and the writer's helpers."""
