namespace Workbench.Training.Recipes;

/// <summary>Where one run-config key goes in the accelerate recipe, or why it cannot go anywhere.</summary>
public sealed record RecipeMapping(string Key, string Target, bool Supported = true);

/// <summary>
/// Every key of <see cref="TrainingConfig"/> and its place in the exported recipe (transformers TrainingArguments /
/// TRL SFTConfig, DPOConfig or ORPOConfig, PEFT LoraConfig / IA3Config, bitsandbytes BitsAndBytesConfig, or train.py itself). A test holds
/// this table to <see cref="TrainingConfigLoader.Fields"/>, so a new key cannot be forgotten.
/// </summary>
public static class RecipeMappings
{
    public static IReadOnlyList<RecipeMapping> All { get; } =
    [
        new("method", "sft → TRL SFTTrainer, dpo → DPOTrainer (the reference: the base with the adapter disabled), orpo → ORPOTrainer"),
        new("beta", "DPOConfig / ORPOConfig(beta)"),
        new("loss_type", "DPOConfig(loss_type): sigmoid or ipo"),
        new("label_smoothing", "DPOConfig(label_smoothing)"),
        new("max_prompt_length", "DPOConfig / ORPOConfig(max_prompt_length)"),
        new("max_completion_length", "DPOConfig / ORPOConfig(max_completion_length); 0 → None (no limit)"),
        new("truncation_mode", "DPOConfig / ORPOConfig(truncation_mode): keep_end or keep_start"),
        new("precompute_ref_log_probs", "DPOConfig(precompute_ref_log_probs)"),
        new("base_model", "from_pretrained(BASE_MODEL): the path written in the run config, or --base-model / a Hub id"),
        new("adapter", "lora → peft.LoraConfig, ia3 → peft.IA3Config, none → full fine-tuning without PEFT"),
        new("quantization", "nf4 / fp4 → BitsAndBytesConfig(load_in_4bit, bnb_4bit_quant_type), int8 → load_in_8bit; int4 has no bitsandbytes type (refused)"),
        new("torch_dtype", "from_pretrained(torch_dtype=…) and bnb_4bit_compute_dtype; bf16/fp16 TrainingArguments flags"),
        new("double_quant", "BitsAndBytesConfig(bnb_4bit_use_double_quant)"),
        new("lora_r", "LoraConfig(r)"),
        new("lora_alpha", "LoraConfig(lora_alpha)"),
        new("lora_dropout", "LoraConfig(lora_dropout)"),
        new("target_modules", "LoraConfig / IA3Config(target_modules); IA3's feedforward_modules are its MLP down-projections among them"),
        new("data", "the data file, copied to data/ in the recipe and read by train.py (JSON array or JSONL)"),
        new("template", "the template's text variants, rendered by train.py into TRL prompt/completion columns"),
        new("skip_bad_records", "train.py: records missing a template field are skipped (true) or stop the run (false)"),
        new("max_length", "SFTConfig(max_length)"),
        new("packing", "SFTConfig(packing)"),
        new("completion_only", "SFTConfig(completion_only_loss)"),
        new("micro_batch_size", "SFTConfig(per_device_train_batch_size)"),
        new("gradient_accumulation_steps", "SFTConfig(gradient_accumulation_steps)"),
        new("learning_rate", "SFTConfig(learning_rate)"),
        new("lr_scheduler_type", "SFTConfig(lr_scheduler_type)"),
        new("warmup_steps", "SFTConfig(warmup_steps)"),
        new("warmup_ratio", "SFTConfig(warmup_ratio)"),
        new("max_steps", "SFTConfig(max_steps)"),
        new("num_train_epochs", "SFTConfig(num_train_epochs)"),
        new("max_grad_norm", "SFTConfig(max_grad_norm)"),
        new("weight_decay", "SFTConfig(weight_decay)"),
        new("gradient_checkpointing", "SFTConfig(gradient_checkpointing)"),
        new("seed", "SFTConfig(seed, data_seed) and transformers.set_seed"),
        new("backend", "none: the recipe always runs on PyTorch (our managed or torch backend has no part in it)", Supported: false),
        new("device", "accelerate places the model on the GPUs its config names (cuda); cpu runs are not what the recipe is for", Supported: false),
        new("output_dir", "SFTConfig(output_dir); the final adapter in OUTPUT_DIR/adapter"),
        new("save_steps", "SFTConfig(save_steps, save_strategy='steps'; 0 → 'no')"),
        new("logging_steps", "SFTConfig(logging_steps)"),
    ];
}
