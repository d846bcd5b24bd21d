import Litmus; print("bench")
