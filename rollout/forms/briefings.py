"""The briefing page's form: a new version. It cleans input; rollout.services.briefings decides."""

from django import forms

_text = {"rows": 6}
MSG_CHANGE_NOTE = "Say what changed since the last version, so members know what to read."
MARKDOWN_HELP = "Markdown: **bold**, lists with “- ”, [links](https://…)."


class BriefingForm(forms.Form):
    what_it_does = forms.CharField(
        label="What the AI does",
        widget=forms.Textarea(attrs=_text),
        max_length=8000,
        help_text=MARKDOWN_HELP,
        error_messages={"required": "Write what the AI does."},
    )
    bad_output = forms.CharField(
        label="What a bad output looks like",
        widget=forms.Textarea(attrs=_text),
        max_length=8000,
        help_text="Taken from the thresholds' bad-output descriptions: say it in your own words.",
        error_messages={"required": "Write what a bad output looks like."},
    )
    wrong_examples = forms.CharField(
        label="Examples of wrong outputs",
        widget=forms.Textarea(attrs=_text),
        max_length=8000,
        required=False,
        help_text="Real ones from the pilot or shadow phase, if you have them.",
    )
    what_to_do = forms.CharField(
        label="What to do when you see one",
        widget=forms.Textarea(attrs=_text),
        max_length=8000,
        help_text="The feedback form and the escalation path are filled in for you.",
        error_messages={"required": "Write what to do when someone sees a bad output."},
    )
    material = forms.TypedChoiceField(
        label="Kind of change",
        choices=[
            ("true", "Material — everyone reads and acknowledges it again"),
            ("false", "Minor — a correction; acknowledgements of the last version still count"),
        ],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
        initial="true",
        error_messages={"required": "Choose whether the change is material or minor."},
    )
    change_note = forms.CharField(
        label="What changed",
        max_length=300,
        required=False,
        help_text="One line members see in the version history.",
    )

    def __init__(self, *args: object, first: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if first:
            # The first version is always material, and nothing changed yet.
            del self.fields["material"]
            del self.fields["change_note"]
        else:
            note = self.fields["change_note"]
            note.required = True
            note.error_messages["required"] = MSG_CHANGE_NOTE
