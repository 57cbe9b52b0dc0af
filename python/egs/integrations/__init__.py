"""egs behind other libraries' extension points.

    egs.integrations.transformers   an "egs" experts implementation for
                                    Hugging Face transformers (5.x): importing
                                    it registers it; then
                                    from_pretrained(..., experts_implementation="egs")

Nothing is imported here: each integration imports its library when it is
imported itself.
"""
