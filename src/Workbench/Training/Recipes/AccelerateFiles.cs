using System.Globalization;

namespace Workbench.Training.Recipes;

/// <summary>The fixed files of an accelerate recipe (<see cref="AccelerateRecipe"/>): train.py, launch configs, README.</summary>
internal static class AccelerateFiles
{
    public const string Requirements = """
        torch>=2.3
        transformers>=4.56
        peft>=0.17
        trl>=0.21
        accelerate>=1.10
        bitsandbytes>=0.45
        deepspeed>=0.17
        """;

    /// <summary>
    /// train.py: reads recipe.json, renders the data with the run's template into TRL prompt/completion pairs (the
    /// first variant whose fields are all non-empty, else the last; the text before {|} is the prompt), loads the
    /// base (quantised by bitsandbytes when asked), wraps it with the PEFT adapter and trains with TRL's SFTTrainer, or
    /// for preference runs (data in TRL's prompt/chosen/rejected form) with DPOTrainer or ORPOTrainer.
    /// </summary>
    public const string TrainPy = """
        #!/usr/bin/env python3
        # Exported by `wb export-recipe`: the Workbench run config in recipe.json, trained with transformers + PEFT + TRL.
        # One GPU:        accelerate launch --config_file accelerate/single_gpu.yaml train.py
        # Several:        accelerate launch --config_file accelerate/{multi_gpu,fsdp_full_shard,deepspeed_zero3_offload}.yaml train.py
        # Several nodes:  ./launch_multinode.sh   (torchrun)
        import argparse
        import json
        import os
        import re

        import torch
        import transformers
        from datasets import Dataset
        from peft import IA3Config, LoraConfig, prepare_model_for_kbit_training
        from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
        from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

        try:
            from trl import ORPOConfig, ORPOTrainer
        except ImportError:  # later TRL releases keep ORPO among the experimental trainers
            from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        HERE = os.path.dirname(os.path.abspath(__file__))
        FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
        SPLIT = "{|}"
        DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "auto": "auto"}
        FEED_FORWARD = {"down_proj", "dense_4h_to_h", "fc2", "c_proj"}


        def load_records(path):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if text.lstrip().startswith("["):
                return json.loads(text)
            return [json.loads(line) for line in text.splitlines() if line.strip()]


        def render(variants, record):
            # the first variant whose fields are all present and non-empty; the last one needs them present only
            for i, variant in enumerate(variants):
                fields = FIELD.findall(variant.replace(SPLIT, ""))
                last = i == len(variants) - 1
                if all(f in record and (last or str(record[f]).strip()) for f in fields):
                    prompt, completion = variant.split(SPLIT, 1)
                    fill = lambda s: FIELD.sub(lambda m: str(record[m.group(1)]), s)
                    return fill(prompt), fill(completion)
            return None


        def dataset(cfg):
            if cfg["method"] != "sft":  # preference pairs, already in TRL's form
                return Dataset.from_list(load_records(os.path.join(HERE, cfg["data"])))
            pairs, skipped = [], 0
            for n, record in enumerate(load_records(os.path.join(HERE, cfg["data"]))):
                pair = render(cfg["template"], record)
                if pair is None:
                    if not cfg["skip_bad_records"]:
                        raise SystemExit(f"{cfg['data']}: record {n} lacks a field of the template (skip_bad_records: false)")
                    skipped += 1
                    continue
                pairs.append({"prompt": pair[0], "completion": pair[1]})
            print(f"{len(pairs)} examples, {skipped} skipped")
            return Dataset.from_list(pairs)


        def model_and_adapter(cfg, base_model):
            dtype = DTYPES[cfg["torch_dtype"]]
            compute = torch.bfloat16 if dtype == "auto" else dtype
            quant = None
            if cfg["quantization"] in ("nf4", "fp4"):
                quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=cfg["quantization"],
                                           bnb_4bit_use_double_quant=cfg["double_quant"], bnb_4bit_compute_dtype=compute,
                                           bnb_4bit_quant_storage=compute)
            elif cfg["quantization"] == "int8":
                quant = BitsAndBytesConfig(load_in_8bit=True)
            model = AutoModelForCausalLM.from_pretrained(base_model, torch_dtype=dtype, quantization_config=quant)
            if quant is not None:
                model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg["gradient_checkpointing"])
            targets = cfg["target_modules"]
            if cfg["adapter"] == "lora":
                peft_config = LoraConfig(r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], lora_dropout=cfg["lora_dropout"],
                                         target_modules=targets, task_type="CAUSAL_LM")
            elif cfg["adapter"] == "ia3":
                feed_forward = [m for m in targets if m in FEED_FORWARD] if isinstance(targets, list) else None
                peft_config = IA3Config(target_modules=targets, feedforward_modules=feed_forward, task_type="CAUSAL_LM")
            else:
                peft_config = None  # full fine-tuning
            return model, peft_config


        def main():
            parser = argparse.ArgumentParser(description=__doc__)
            parser.add_argument("--recipe", default=os.path.join(HERE, "recipe.json"))
            parser.add_argument("--base-model", help="a local folder or Hub id instead of recipe.json's base_model")
            args = parser.parse_args()
            with open(args.recipe, encoding="utf-8") as f:
                cfg = json.load(f)
            transformers.set_seed(cfg["seed"])
            base_model = args.base_model or cfg["base_model"]
            tokenizer = AutoTokenizer.from_pretrained(base_model)
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            model, peft_config = model_and_adapter(cfg, base_model)
            bf16 = cfg["torch_dtype"] in ("bfloat16", "auto") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
            common = dict(
                output_dir=cfg["output_dir"],
                per_device_train_batch_size=cfg["micro_batch_size"],
                gradient_accumulation_steps=cfg["gradient_accumulation_steps"],
                learning_rate=cfg["learning_rate"],
                lr_scheduler_type=cfg["lr_scheduler_type"],
                warmup_steps=cfg["warmup_steps"],
                warmup_ratio=cfg["warmup_ratio"],
                max_steps=cfg["max_steps"],
                num_train_epochs=cfg["num_train_epochs"],
                max_grad_norm=cfg["max_grad_norm"],
                weight_decay=cfg["weight_decay"],
                gradient_checkpointing=cfg["gradient_checkpointing"],
                seed=cfg["seed"],
                data_seed=cfg["seed"],
                save_strategy="steps" if cfg["save_steps"] > 0 else "no",
                save_steps=cfg["save_steps"] if cfg["save_steps"] > 0 else 500,
                logging_steps=cfg["logging_steps"],
                bf16=bf16,
                fp16=cfg["torch_dtype"] == "float16",
                report_to="none",
            )
            preference = dict(
                beta=cfg["beta"],
                max_length=cfg["max_length"],
                max_prompt_length=cfg["max_prompt_length"],
                max_completion_length=cfg["max_completion_length"] or None,
                truncation_mode=cfg["truncation_mode"],
            )
            if cfg["method"] == "dpo":
                args = DPOConfig(**common, **preference, loss_type=cfg["loss_type"], label_smoothing=cfg["label_smoothing"],
                                 precompute_ref_log_probs=cfg["precompute_ref_log_probs"])
                trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=dataset(cfg),
                                     processing_class=tokenizer, peft_config=peft_config)
            elif cfg["method"] == "orpo":
                args = ORPOConfig(**common, **preference)
                trainer = ORPOTrainer(model=model, args=args, train_dataset=dataset(cfg), processing_class=tokenizer,
                                      peft_config=peft_config)
            else:
                args = SFTConfig(**common, max_length=cfg["max_length"], packing=cfg["packing"],
                                 completion_only_loss=cfg["completion_only"])
                trainer = SFTTrainer(model=model, args=args, train_dataset=dataset(cfg), processing_class=tokenizer,
                                     peft_config=peft_config)
            trainer.train()
            final = os.path.join(cfg["output_dir"], "adapter" if peft_config is not None else "model")
            trainer.save_model(final)  # a PEFT folder (adapter_config.json + adapter_model.safetensors), or the whole model
            print(f"saved {final}")


        if __name__ == "__main__":
            main()
        """;

    public const string SingleGpu = """
        compute_environment: LOCAL_MACHINE
        distributed_type: 'NO'
        num_machines: 1
        num_processes: 1
        machine_rank: 0
        mixed_precision: 'no'
        use_cpu: false
        """;

    public const string MultiGpu = """
        # DDP on one machine: set num_processes to its GPU count
        compute_environment: LOCAL_MACHINE
        distributed_type: MULTI_GPU
        num_machines: 1
        num_processes: 2
        machine_rank: 0
        mixed_precision: 'no'
        gpu_ids: all
        """;

    /// <summary>FSDP full_shard wrapping each decoder layer (QLoRA needs bnb_4bit_quant_storage, set by train.py).</summary>
    public static string Fsdp(string layerClass) => $"""
        # FSDP full_shard on one machine: set num_processes to its GPU count
        compute_environment: LOCAL_MACHINE
        distributed_type: FSDP
        num_machines: 1
        num_processes: 2
        machine_rank: 0
        mixed_precision: 'no'
        fsdp_config:
          fsdp_sharding_strategy: FULL_SHARD
          fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
          fsdp_transformer_layer_cls_to_wrap: {layerClass}
          fsdp_backward_prefetch: BACKWARD_PRE
          fsdp_state_dict_type: SHARDED_STATE_DICT
          fsdp_cpu_ram_efficient_loading: true
          fsdp_sync_module_states: true
          fsdp_use_orig_params: true
          fsdp_offload_params: false
        """;

    public static string DeepSpeedZero3(int accumulation, double maxGradNorm) => $"""
        # DeepSpeed ZeRO-3 with optimizer states and parameters offloaded to CPU: set num_processes to the GPU count
        compute_environment: LOCAL_MACHINE
        distributed_type: DEEPSPEED
        num_machines: 1
        num_processes: 2
        machine_rank: 0
        mixed_precision: 'no'
        deepspeed_config:
          zero_stage: 3
          offload_optimizer_device: cpu
          offload_param_device: cpu
          zero3_init_flag: true
          zero3_save_16bit_model: true
          gradient_accumulation_steps: {accumulation}
          gradient_clipping: {maxGradNorm.ToString(CultureInfo.InvariantCulture)}
        """;

    public const string LaunchMultinode = """
        #!/usr/bin/env bash
        # Several nodes with torchrun: run this on every node with the same MASTER_ADDR and its own NODE_RANK.
        #   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 GPUS_PER_NODE=8 ./launch_multinode.sh
        set -euo pipefail
        cd "$(dirname "$0")"
        exec torchrun \
          --nnodes "${NNODES:?number of nodes}" \
          --node_rank "${NODE_RANK:?this node's rank, 0 on the master}" \
          --nproc_per_node "${GPUS_PER_NODE:-$(nvidia-smi -L | wc -l)}" \
          --master_addr "${MASTER_ADDR:?the rank-0 node's address}" \
          --master_port "${MASTER_PORT:-29500}" \
          train.py "$@"
        """;

    public static string Readme(TrainingConfig c, string origin, string layerClass) => $$"""
        # Training recipe exported from `{{origin}}`

        The same run as `wb train --config {{origin}}`, expressed for Hugging Face transformers + PEFT + TRL and
        launched with accelerate or torchrun. Settings are in `recipe.json` (written from the run config; the table
        in Workbench's `Training/Recipes/RecipeMapping.cs` says where each key goes); the data file is in `data/`.

        ## Run

            pip install -r requirements.txt
            accelerate launch --config_file accelerate/single_gpu.yaml train.py          # one GPU
            accelerate launch --config_file accelerate/multi_gpu.yaml train.py           # DDP, one machine
            accelerate launch --config_file accelerate/fsdp_full_shard.yaml train.py     # FSDP full_shard ({{layerClass}})
            accelerate launch --config_file accelerate/deepspeed_zero3_offload.yaml train.py   # ZeRO-3, CPU offload
            NNODES=2 NODE_RANK=0 MASTER_ADDR=… ./launch_multinode.sh                    # torchrun, several nodes

        Set `num_processes` in the accelerate configs to your GPU count. The base model is read from
        `{{c.BaseModel}}` (relative to where you launch); pass `--base-model PATH_OR_HUB_ID` to use another copy.
        The global batch is micro_batch_size × gradient_accumulation_steps × GPUs, so with several GPUs divide
        gradient_accumulation_steps in `recipe.json` to keep Workbench's schedule.

        ## Bring the adapter back

        train.py saves a PEFT folder (`adapter_config.json`, `adapter_model.safetensors`) in
        `{{(string.IsNullOrEmpty(c.OutputDir) ? "out" : c.OutputDir)}}/adapter`. Workbench reads it unchanged:

            wb eval fewshot {{c.BaseModel}} --adapter {{(string.IsNullOrEmpty(c.OutputDir) ? "out" : c.OutputDir)}}/adapter --task nsmc --prompt 1
            wb merge {{c.BaseModel}} {{(string.IsNullOrEmpty(c.OutputDir) ? "out" : c.OutputDir)}}/adapter --out merged
        """;
}
